"""Tests for triggers/registry.py: a registry wait resumes the task with its event, or ends it in the triggerer."""

from __future__ import annotations

from airflow.triggers.base import TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

from airflow_provider_enterprise.triggers.job import EnterpriseJobTrigger, JobEvent

KEY = ["target", "run_1", "process", -1]


def trigger(**ends: bool) -> EnterpriseJobTrigger:
    return EnterpriseJobTrigger(job_key=KEY, target_states=["succeeded"], failure_states=["dead_lettered"], **ends)


def test_the_event_resumes_the_task_unless_the_trigger_ends_it() -> None:
    reached = JobEvent(status="reached", state="succeeded")
    plain = trigger().trigger_event(reached)
    assert type(plain) is TriggerEvent and plain.payload == {"status": "reached", "state": "succeeded"}
    ending, soft = trigger(end_from_trigger=True), trigger(end_from_trigger=True, soft_fail=True)
    assert isinstance(ending.trigger_event(reached), TaskSuccessEvent)
    assert isinstance(ending.trigger_event(JobEvent(status="failed", state="dead_lettered")), TaskFailedEvent)
    assert isinstance(ending.trigger_event(JobEvent(status="timeout", state="running")), TaskFailedEvent)
    assert isinstance(soft.trigger_event(JobEvent(status="timeout", state="running")), TaskSkippedEvent)


def test_a_timeout_reports_the_state_read_last_in_the_triggers_event_class() -> None:
    waiting = trigger()
    assert waiting.timed_out() == JobEvent(status="timeout", state=None)
    waiting.state = "running"
    assert waiting.timed_out() == JobEvent(status="timeout", state="running")
    assert type(waiting.timed_out()) is JobEvent


def test_kwargs_stored_by_an_earlier_version_rebuild_the_trigger() -> None:
    stored = {"deadline": None, "poll_interval": 3, "metadata_conn_id": None, "job_key": KEY}
    stored |= {"target_states": ["succeeded"], "failure_states": ["failed"]}  # end_from_trigger was left out
    _, kwargs = EnterpriseJobTrigger(**stored).serialize()
    assert kwargs == {**stored, "end_from_trigger": False, "soft_fail": False}
