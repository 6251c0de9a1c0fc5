"""Tests for triggers/job.py: the job trigger's run() over a real registry, and its typed events."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.triggers.job import EnterpriseJobTrigger, JobEvent
from support.triggers import first_event


def test_run_reports_the_jobs_state_as_a_typed_event(registry, registry_url) -> None:
    key = JobKey("trigger_target", "run_1", "process")
    attempt = registry.start_attempt(registry.register_job(key, job_name="t", job_type="t"), 1)

    def waiting(target: str, failure: str, deadline: float | None = None) -> EnterpriseJobTrigger:
        return EnterpriseJobTrigger(
            job_key=list(vars(key).values()),
            target_states=[target],
            failure_states=[failure],
            deadline=deadline,
            poll_interval=0.05,
        )

    assert JobEvent.from_payload(first_event(waiting("running", "failed")).payload) == JobEvent("reached", "running")
    registry.fail_attempt(attempt.attempt_id, RuntimeError("x"))
    assert JobEvent.from_payload(first_event(waiting("succeeded", "failed")).payload) == JobEvent("failed", "failed")
    assert JobEvent.from_payload(first_event(waiting("succeeded", "dead_lettered", 0.0)).payload) == JobEvent(
        "timeout", "failed"
    )


def test_a_payload_of_another_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match="status: Input should be 'reached', 'failed' or 'timeout'"):
        JobEvent.from_payload({"status": "admits", "state": "closed"})
