"""Cluster-mode application status and kill, against a local server that answers like each backend's API."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker
from support.status_server import StatusServer


@pytest.fixture
def server():
    server = StatusServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("backend", "external_id", "states", "final", "succeeded"),
    [
        ("standalone", "driver-20261201120000-0001", ["SUBMITTED", "RUNNING", "FINISHED"], "FINISHED", True),
        ("standalone", "driver-20261201120000-0002", ["RUNNING", "FAILED"], "FAILED", False),
        ("kubernetes", "jobs:daily-driver", ["Pending", "Running", "Succeeded"], "Succeeded", True),
        ("kubernetes", "jobs:broken-driver", ["Running", "Failed"], "Failed", False),
        ("yarn", "application_1_0001", ["ACCEPTED", "RUNNING", "FINISHED/SUCCEEDED"], "FINISHED", True),
        ("yarn", "application_1_0002", ["RUNNING", "FINISHED/FAILED"], "FAILED", False),
    ],
)
def test_status_follows_the_application_to_its_end(server, backend, external_id, states, final, succeeded) -> None:
    server.script(backend, external_id, *states)
    tracker = SparkApplicationTracker(backend, server.url)
    seen = []
    while True:
        status = tracker.status(external_id) if len(seen) % 2 else asyncio.run(tracker.astatus(external_id))
        seen.append(status.state)
        if not status.active:
            break
    assert seen[-1] == final
    assert status.succeeded is succeeded
    assert len(seen) == len(states)
    if not succeeded and backend != "standalone":
        assert status.message  # the pod's or YARN's diagnostics reach the error


@pytest.mark.parametrize(
    ("backend", "external_id", "method", "killed"),
    [
        ("standalone", "driver-1", "POST", "KILLED"),
        ("kubernetes", "jobs:long-driver", "DELETE", "NOT_FOUND"),
        ("yarn", "application_1_0003", "PUT", "KILLED"),
    ],
)
def test_kill_stops_the_application(server, backend, external_id, method, killed) -> None:
    server.script(backend, external_id, "RUNNING" if backend != "kubernetes" else "Running")
    tracker = SparkApplicationTracker(backend, server.url, token="k8s-token" if backend == "kubernetes" else None)
    assert tracker.status(external_id).active
    tracker.kill(external_id)
    status = tracker.status(external_id)
    assert status.state == killed and not status.active and not status.succeeded
    assert server.requests[1][0] == method
    if backend == "kubernetes":
        assert {auth for _, _, auth in server.requests} == {"Bearer k8s-token"}


def test_unknown_applications_are_ended_not_running(server) -> None:
    for backend, external_id in [("standalone", "driver-0"), ("kubernetes", "jobs:gone"), ("yarn", "application_0")]:
        status = SparkApplicationTracker(backend, server.url).status(external_id)
        assert status.state == "NOT_FOUND" and not status.active and not status.succeeded


def test_an_unreachable_api_raises_and_bad_input_is_named(server) -> None:
    url = server.url
    server.stop()
    with pytest.raises(httpx.HTTPError):
        SparkApplicationTracker("standalone", url, timeout=2).status("driver-1")
    with pytest.raises(ValueError, match="unknown Spark backend 'mesos'"):
        SparkApplicationTracker("mesos", url)
    with pytest.raises(ValueError, match="'namespace:pod'"):
        SparkApplicationTracker("kubernetes", url).status("just-a-pod")
