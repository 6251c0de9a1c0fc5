"""The cluster-mode application trigger's events, deadline, error tolerance and kill, on a local status API."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_enterprise.triggers.spark import SparkApplicationTrigger
from support.status_server import StatusServer
from support.triggers import first_event as run_until_event

ATTEMPT = {"job_id": 1, "attempt_id": 7, "try_number": 1, "replay": None, "permits": []}


@pytest.fixture
def server():
    server = StatusServer().start()
    yield server
    server.stop()


def first_event(trigger: SparkApplicationTrigger) -> dict:
    return run_until_event(trigger).payload


def make(server: StatusServer, backend: str, external_id: str, **kwargs) -> SparkApplicationTrigger:
    trigger = SparkApplicationTrigger(
        backend=backend, status_url=server.url, external_id=external_id, poll_interval=0.05, attempt=ATTEMPT, **kwargs
    )
    classpath, fields = trigger.serialize()
    assert classpath == "airflow_provider_enterprise.triggers.spark.SparkApplicationTrigger"
    return SparkApplicationTrigger(**json.loads(json.dumps(fields)))  # as the triggerer rebuilds it


def test_events_report_how_the_application_ended(server) -> None:
    server.script("yarn", "application_9_0001", "ACCEPTED", "RUNNING", "FINISHED/SUCCEEDED")
    server.script("standalone", "driver-2", "RUNNING", "RUNNING", "FAILED")
    done = first_event(make(server, "yarn", "application_9_0001"))
    assert (done["status"], done["state"], done["attempt"]) == ("succeeded", "FINISHED", ATTEMPT)
    failed = first_event(make(server, "standalone", "driver-2"))
    assert (failed["status"], failed["state"], failed["external_id"]) == ("failed", "FAILED", "driver-2")


def test_the_trigger_enforces_the_deadline_itself(server) -> None:
    server.script("standalone", "driver-3", "RUNNING")
    started = time.monotonic()
    event = first_event(make(server, "standalone", "driver-3", deadline=time.time() + 0.5))
    assert (event["status"], event["state"]) == ("timeout", "RUNNING")
    assert 0.4 < time.monotonic() - started < 5
    assert server.state("standalone", "driver-3") == "RUNNING"  # killing is execute_complete's job


def test_an_api_that_stays_unreachable_ends_the_wait(server, statsd_in_process) -> None:
    trigger = make(server, "standalone", "driver-4", max_poll_errors=3)
    server.stop()
    event = first_event(trigger)
    assert event["status"] == "unreachable" and event["external_id"] == "driver-4"
    time.sleep(0.3)
    errors = statsd_in_process.datagrams("airflow.enterprise.spark_status_errors")
    assert [(d.value, d.kind, d.tags) for d in errors] == [("1", "c", {"backend": "standalone"})] * 3


@pytest.mark.parametrize(
    "backend, external_id, final",
    [
        ("yarn", "application_9_0005", "FINISHED/SUCCEEDED"),
        ("kubernetes", "jobs:etl-5", "Succeeded"),
        ("standalone", "driver-5", "FINISHED"),
    ],
)
def test_answers_that_are_not_a_status_count_as_failed_polls(
    server, statsd_in_process, backend: str, external_id: str, final: str
) -> None:
    """A proxy's error page, or JSON of another shape, answered with 200: a failed poll, not a crashed trigger."""
    server.script(backend, external_id, "RUNNING" if backend != "kubernetes" else "Running", final)
    server.malformed = ["<html><body>502 Bad Gateway</body></html>", {"unexpected": "shape"}]
    event = first_event(make(server, backend, external_id, max_poll_errors=3))
    assert event["status"] == "succeeded"
    time.sleep(0.3)
    errors = statsd_in_process.datagrams("airflow.enterprise.spark_status_errors")
    assert [(d.value, d.tags) for d in errors] == [("1", {"backend": backend})] * 2


def test_a_status_api_that_only_answers_garbage_ends_the_wait(server) -> None:
    server.script("yarn", "application_9_0006", "RUNNING")
    server.malformed = ["not json"] * 3
    event = first_event(make(server, "yarn", "application_9_0006", max_poll_errors=3))
    assert event["status"] == "unreachable" and event["external_id"] == "application_9_0006"


def test_on_kill_deletes_the_driver_pod_with_the_connections_token(server, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_K8S_TRIGGER",
        json.dumps({"conn_type": "spark", "host": "k8s://" + server.url, "password": "pod-token-123"}),
    )
    server.script("kubernetes", "jobs:etl-driver", "Running")
    trigger = make(server, "kubernetes", "jobs:etl-driver", conn_id="spark_k8s_trigger")
    asyncio.run(trigger.on_kill())
    assert server.state("kubernetes", "jobs:etl-driver") is None
    assert server.requests[-1] == ("DELETE", "/api/v1/namespaces/jobs/pods/etl-driver", "Bearer pod-token-123")
