"""Tests for plugin/models.py: what the API's bodies accept, refuse and leave out of a response."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_enterprise.plugin import models

NOW = "2026-12-06T22:00:00Z"

JOB_ROW = {
    "job_id": 1,
    "dag_id": "daily",
    "run_id": "manual__1",
    "task_id": "process",
    "map_index": -1,
    "job_name": "daily",
    "job_type": "data_processing",
    "priority": "normal",
    "status": "failed",
    "latest_try_number": 2,
    "attempt_count": 2,
    "created_at": NOW,
}

ATTEMPT_ROW = {
    "attempt_id": 7,
    "try_number": 2,
    "status": "failed",
    "engine": "local",
    "external_id": None,
    "hostname": "worker-1",
    "started_at": NOW,
    "heartbeat_at": NOW,
    "finished_at": NOW,
    "rows_in": None,
    "rows_out": None,
    "bad_rows": None,
    "output_path": None,
    "error_class": "FileNotFoundError",
    "error_message": "no such file: /in.csv",
    "retry_decision": "FileNotFoundError is permanent: no retry",
    "routing": None,
    "spec": {"input_path": "/in.csv"},
}


def test_a_registry_row_becomes_a_job_detail_and_its_other_columns_are_left_out() -> None:
    row = {**JOB_ROW, "attempts": [{**ATTEMPT_ROW, "worker_pid": 4242}], "internal_note": "not for the API"}
    detail = models.JobDetail.model_validate(row)
    body = detail.model_dump(mode="json")
    assert "internal_note" not in body
    assert "worker_pid" not in body["attempts"][0]
    assert body["attempts"][0]["checks"] == []  # an attempt without checks lists none
    assert body["created_at"] == "2026-12-06T22:00:00Z"


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (models.Job, {**JOB_ROW, "status": "queued"}, "status"),
        (models.Attempt, {**ATTEMPT_ROW, "status": "registered"}, "status"),  # a job status, not an attempt's
        (models.Job, {k: v for k, v in JOB_ROW.items() if k != "attempt_count"}, "attempt_count"),
        (models.Circuit, {"name": "hive", "state": "ajar"}, "state"),
        (models.ComponentHealth, {"status": "degraded", "detail": ""}, "status"),
        (models.JobList, {"jobs": []}, "total_entries"),
    ],
)
def test_values_outside_the_documented_ones_are_refused_naming_the_field(model, data, field) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    assert field in {str(error["loc"][0]) for error in raised.value.errors()}


def test_check_results_keep_their_verdicts() -> None:
    check = {"name": "rows", "type": "row_count", "severity": "fail", "target": "output", "observed": 0}
    result = models.CheckResult(**check, outcome="failed", failing_rows=None, message="0 rows, at least 1")
    assert result.observed == 0
    with pytest.raises(ValidationError, match="outcome"):
        models.CheckResult(**check, outcome="skipped", failing_rows=None, message="")
    with pytest.raises(ValidationError, match="severity"):
        models.CheckResult(**{**check, "severity": "info"}, outcome="passed", failing_rows=None, message="")


def test_health_without_a_registry_has_no_circuit_summary() -> None:
    down = models.ComponentHealth(status="unhealthy", detail="connection refused")
    health = models.Health(status="unhealthy", registry=down, spark=down, circuits=None)
    assert health.model_dump()["circuits"] is None
    schema = models.Health.model_json_schema()
    assert schema["properties"]["circuits"]["description"] == "Absent when the registry cannot be read."
