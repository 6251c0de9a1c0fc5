"""Tests for triggers/base.py: typed event payloads, serialisation from the dataclass fields, the polling loop."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Literal

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_enterprise.triggers.base import PollingTrigger, TriggerPayload
from support.triggers import first_event


@dataclass(frozen=True)
class CountEvent(TriggerPayload):
    status: Literal["done", "timeout"]
    polls: int
    note: str | None = None


@dataclass(kw_only=True, eq=False, repr=False)
class CountingTrigger(PollingTrigger[CountEvent]):
    """Ends after ``polls_needed`` polls."""

    polls_needed: int
    labels: list[str] = field(default_factory=list)
    polls: int = field(default=0, init=False)

    async def poll(self) -> CountEvent | None:
        self.polls += 1
        return CountEvent(status="done", polls=self.polls) if self.polls >= self.polls_needed else None

    def timed_out(self) -> CountEvent:
        return CountEvent(status="timeout", polls=self.polls)


def test_a_payload_round_trips_through_json() -> None:
    event = CountEvent(status="done", polls=3, note="x")
    payload = event.to_payload()
    assert payload == {"status": "done", "polls": 3, "note": "x"}
    assert CountEvent.from_payload(json.loads(json.dumps(payload))) == event


def test_reading_a_payload_ignores_unknown_keys_and_defaults_new_fields() -> None:
    # an older version's payload lacks "note"; a newer one's may carry keys this version does not know
    assert CountEvent.from_payload({"status": "timeout", "polls": 1, "later": True}) == CountEvent("timeout", 1)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"polls": 1}, r"not a CountEvent payload: status: Field required"),
        ({"status": "gone", "polls": 1}, r"status: Input should be 'done' or 'timeout'"),
        ({"status": "done", "polls": "many"}, r"polls: Input should be a valid integer"),
        ("done", r"a CountEvent payload is a mapping of fields, not str"),
    ],
)
def test_a_bad_payload_is_refused_naming_the_field(payload: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CountEvent.from_payload(payload)  # type: ignore[arg-type]


def test_serialize_returns_the_constructor_fields_and_rebuilds_the_trigger() -> None:
    trigger = CountingTrigger(polls_needed=2, labels=["a"], deadline=12.5, poll_interval=0.5)
    classpath, kwargs = trigger.serialize()
    assert classpath == f"{__name__}.CountingTrigger"
    assert kwargs == {"deadline": 12.5, "poll_interval": 0.5, "polls_needed": 2, "labels": ["a"]}  # not "polls"
    rebuilt = CountingTrigger(**json.loads(json.dumps(kwargs)))  # as the triggerer rebuilds it
    assert rebuilt.serialize() == (classpath, kwargs)
    assert repr(rebuilt) == f"<{classpath} deadline=12.5, poll_interval=0.5, polls_needed=2, labels=['a']>"
    assert rebuilt.template_fields == () and rebuilt.task_instance is None  # Airflow's own set-up ran


def test_run_polls_until_the_event_and_sends_its_payload() -> None:
    trigger = CountingTrigger(polls_needed=3, poll_interval=0.01)
    event = first_event(trigger)
    assert type(event) is TriggerEvent and event.payload == {"status": "done", "polls": 3, "note": None}


def test_run_sends_the_timeout_event_once_the_deadline_passed() -> None:
    started = time.monotonic()
    event = first_event(CountingTrigger(polls_needed=10**6, poll_interval=0.02, deadline=time.time() + 0.2))
    assert event.payload["status"] == "timeout" and event.payload["polls"] >= 2
    assert 0.15 < time.monotonic() - started < 5
    # an event found on the poll the deadline passed during wins over the timeout
    assert first_event(CountingTrigger(polls_needed=1, deadline=0.0)).payload["status"] == "done"
