"""Tests for triggers/spark.py: the trigger's kwargs (as older versions stored them), its typed events, a run."""

from __future__ import annotations

import json

import pytest

from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker
from airflow_provider_enterprise.triggers.spark import SparkApplicationEvent, SparkApplicationTrigger
from support.status_server import StatusServer
from support.triggers import first_event

ATTEMPT = {"job_id": 1, "attempt_id": 7, "try_number": 1, "engine": "spark", "replay": None, "permits": []}
#: The kwargs a deferred task's trigger was stored with before triggers shared one convention.
STORED_KWARGS = {
    "backend": "yarn",
    "status_url": "http://rm:8088",
    "external_id": "application_9_0001",
    "conn_id": "spark_yarn",
    "deadline": 1767225600.0,
    "poll_interval": 5.0,
    "max_poll_errors": 5,
    "attempt": ATTEMPT,
    "run_id": "enterprise-1-1-abcd1234",
}
#: An event payload stored before events named their status API.
STORED_EVENT = {
    "status": "timeout",
    "state": "RUNNING",
    "message": "",
    "external_id": "application_9_0001",
    "attempt": ATTEMPT,
    "run_id": None,
}


def test_a_trigger_stored_by_an_earlier_version_is_rebuilt_and_serialised_alike() -> None:
    trigger = SparkApplicationTrigger(**STORED_KWARGS)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_enterprise.triggers.spark.SparkApplicationTrigger"
    assert kwargs == STORED_KWARGS
    assert json.loads(json.dumps(kwargs)) == kwargs


def test_an_event_stored_by_an_earlier_version_reads_with_no_status_api() -> None:
    event = SparkApplicationEvent.from_payload(STORED_EVENT)
    assert (event.status, event.state, event.external_id, event.run_id) == (
        "timeout",
        "RUNNING",
        STORED_EVENT["external_id"],
        None,
    )
    assert event.attempt == ATTEMPT and event.status_api is None
    assert event.to_payload() == {**STORED_EVENT, "status_api": None}


def test_an_event_without_its_application_is_refused() -> None:
    with pytest.raises(ValueError, match="not a SparkApplicationEvent payload: external_id: Field required"):
        SparkApplicationEvent.from_payload({k: v for k, v in STORED_EVENT.items() if k != "external_id"})
    with pytest.raises(ValueError, match="status: Input should be 'succeeded', 'failed', 'timeout' or 'unreachable'"):
        SparkApplicationEvent.from_payload({**STORED_EVENT, "status": "lost"})


def test_run_sends_the_typed_event_naming_the_status_api_that_kills_the_application() -> None:
    server = StatusServer().start()
    try:
        server.script("standalone", "driver-1", "RUNNING", "FAILED")
        trigger = SparkApplicationTrigger(
            backend="standalone", status_url=server.url, external_id="driver-1", attempt=ATTEMPT, poll_interval=0.02
        )

        event = SparkApplicationEvent.from_payload(first_event(trigger, timeout=10).payload)
        assert (event.status, event.state, event.attempt) == ("failed", "FAILED", ATTEMPT)
        assert event.status_api == {"backend": "standalone", "url": server.url, "conn_id": None}
        server.script("standalone", "driver-1", "RUNNING")
        SparkApplicationTracker.from_status_api(event.status_api).kill("driver-1")  # what a resumed task does
        assert server.requests[-1][:2] == ("POST", "/v1/submissions/kill/driver-1")
    finally:
        server.stop()
