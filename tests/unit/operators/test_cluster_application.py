"""Tests for operators/cluster_application.py: how a resumed task reads a wait's end, on a local status API."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker
from airflow_provider_enterprise.exceptions import JobTimeoutError, SparkApplicationError
from airflow_provider_enterprise.operators.cluster_application import application_failed
from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator
from airflow_provider_enterprise.triggers.spark import SparkApplicationEvent
from support.status_server import StatusServer

ATTEMPT = {"job_id": 1, "attempt_id": 7, "try_number": 1, "engine": "spark", "replay": None, "permits": []}


@pytest.fixture
def server():
    server = StatusServer().start()
    yield server
    server.stop()


def ended(status: str, **fields) -> SparkApplicationEvent:
    return SparkApplicationEvent.from_payload(
        {"status": status, "state": "RUNNING", "external_id": "driver-1", "attempt": ATTEMPT, **fields}
    )


def test_a_timeout_kills_the_application_through_the_status_api_its_event_names(server) -> None:
    operator = EnterpriseSparkSubmitOperator(task_id="submit", application="job.jar")
    server.script("standalone", "driver-1", "RUNNING")
    event = ended("timeout", status_api={"backend": "standalone", "url": server.url, "conn_id": None})

    def no_fallback() -> SparkApplicationTracker:
        raise AssertionError("the event names its status API")

    with pytest.raises(JobTimeoutError, match="too long"):
        operator.raise_unless_ended(event, timeout_error=JobTimeoutError("too long"), tracker=no_fallback)
    assert ("POST", "/v1/submissions/kill/driver-1", None) in server.requests


def test_an_event_stored_before_events_named_their_status_api_kills_through_the_fallback(server) -> None:
    operator = EnterpriseSparkSubmitOperator(task_id="submit", application="job.jar")
    server.script("standalone", "driver-1", "RUNNING")
    with pytest.raises(JobTimeoutError):
        operator.raise_unless_ended(
            ended("timeout"),  # no status_api key
            timeout_error=JobTimeoutError("too long"),
            tracker=lambda: SparkApplicationTracker("standalone", server.url),
        )
    assert ("POST", "/v1/submissions/kill/driver-1", None) in server.requests


def test_an_unreachable_api_fails_and_an_ended_application_passes() -> None:
    operator = EnterpriseSparkSubmitOperator(task_id="submit", application="job.jar")
    with pytest.raises(SparkApplicationError, match="status of application driver-1 is unavailable: refused"):
        operator.raise_unless_ended(ended("unreachable", message="refused"), timeout_error=ValueError(), tracker=None)
    for status in ("succeeded", "failed"):  # its outcome is the caller's to read
        operator.raise_unless_ended(ended(status), timeout_error=ValueError(), tracker=None)
    assert str(application_failed("driver-1", "FAILED", "")) == "application driver-1 ended FAILED"
    assert str(application_failed("driver-1", "FAILED", "OOM")) == "application driver-1 ended FAILED: OOM"
