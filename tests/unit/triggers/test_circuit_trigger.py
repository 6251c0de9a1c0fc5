"""Tests for triggers/circuit.py: the breaker trigger's run() over a real registry, and its typed events."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from airflow_provider_enterprise.triggers.circuit import CircuitClosedTrigger, CircuitEvent
from support.triggers import first_event


def test_run_waits_while_the_breaker_is_open_and_reports_when_it_admits(registry, registry_url) -> None:
    breaker = CircuitBreaker(registry, "test:trigger")
    for _ in range(breaker.settings.failure_threshold):
        breaker.record_failure(breaker.acquire())
    assert breaker.status()["state"] == "open"

    timed_out = first_event(CircuitClosedTrigger(name="test:trigger", deadline=0.0, poll_interval=0.05)).payload
    assert CircuitEvent.from_payload(timed_out) == CircuitEvent("timeout", "open")
    breaker.reset()
    admitted = first_event(CircuitClosedTrigger(name="test:trigger", poll_interval=0.05)).payload
    assert CircuitEvent.from_payload(admitted) == CircuitEvent("admits", "closed")
    # a breaker never used has no row: it is closed
    assert first_event(CircuitClosedTrigger(name="test:unused")).payload == {"status": "admits", "state": "closed"}


def test_a_payload_of_another_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match="status: Input should be 'admits' or 'timeout'"):
        CircuitEvent.from_payload({"status": "reached", "state": "succeeded"})
