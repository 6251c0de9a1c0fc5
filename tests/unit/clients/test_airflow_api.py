"""
Tests for airflow_api.py against a local HTTP server answering as Airflow's REST API: login, the requests each
call sends, and errors that name the request (the real api-server: tests/stack).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient, AirflowApiError, credentials
from airflow_provider_enterprise.config import load_settings
from support.json_server import Received, json_server

POOLS: dict[str, dict[str, Any]] = {}


def airflow(request: Received) -> tuple[int, Any]:
    """Login as admin/pw; one DAG run, ``manual__1``; one task instance, ``t`` (mapped index 0 too); pools."""
    if request.path == "/auth/token":
        good = request.body == {"username": "admin", "password": "pw"}
        return (201, {"access_token": "jwt-login"}) if good else (401, {"detail": "Invalid credentials"})
    if request.authorization not in ("Bearer jwt-login", "Bearer jwt-given"):
        return 401, {"detail": "Not authenticated"}
    if request.method == "POST" and request.path == "/api/v2/dags/d/dagRuns":
        return (409, {"detail": "exists"}) if request.body["dag_run_id"] == "manual__1" else (200, request.body)
    if request.path in (
        "/api/v2/dags/d/dagRuns/manual__1/taskInstances/t",
        "/api/v2/dags/d/dagRuns/manual__1/taskInstances/t/0",
    ):
        return 200, {"state": "success", "try_number": 1, "path": request.path}
    if request.method == "POST" and request.path == "/api/v2/pools":
        if request.body["name"] in POOLS:
            return 409, {"detail": "pool exists"}
        POOLS[request.body["name"]] = request.body
        return 201, request.body
    if request.method == "PATCH" and request.path.startswith("/api/v2/pools/"):
        POOLS[request.path.rsplit("/", 1)[1]] = request.body
        return 200, request.body
    return 404, {"detail": f"{request.path} not found"}


def settings(url: str, **values: str):
    return load_settings({"AIRFLOW_API_URL": url, **values}, use_airflow=False)


def test_credentials_are_required_and_named() -> None:
    with pytest.raises(
        AirflowApiError, match="set AIRFLOW_API_TOKEN, or AIRFLOW_API_USERNAME and AIRFLOW_API_PASSWORD"
    ):
        credentials(settings("http://127.0.0.1:9", AIRFLOW_API_USERNAME="admin"))
    url, token, username, password = credentials(settings("http://a:1", AIRFLOW_API_TOKEN="t0k"), need=False)
    assert (url, token, username, password) == ("http://a:1", "t0k", None, None)


def test_it_logs_in_with_the_settings_or_acts_with_a_given_token() -> None:
    with json_server(airflow) as server:
        client = AirflowApiClient(settings(server.url + "/", AIRFLOW_API_USERNAME="admin", AIRFLOW_API_PASSWORD="pw"))
        assert client.trigger_run("d", "manual__2", {"x": 1}) is True
        client.close()
        as_caller = AirflowApiClient(settings(server.url), token="jwt-given")  # no credentials needed
        assert as_caller.trigger_run("d", "manual__3", {}) is True
        as_caller.close()
        with pytest.raises(AirflowApiError, match=r"login to .* as 'admin' refused: HTTP 401"):
            AirflowApiClient(settings(server.url, AIRFLOW_API_USERNAME="admin", AIRFLOW_API_PASSWORD="bad"))
    assert [(r.method, r.path, r.authorization) for r in server.received[:2]] == [
        ("POST", "/auth/token", None),
        ("POST", "/api/v2/dags/d/dagRuns", "Bearer jwt-login"),
    ]
    assert server.received[1].body == {"dag_run_id": "manual__2", "logical_date": None, "conf": {"x": 1}}
    assert server.received[2].authorization == "Bearer jwt-given"


def test_runs_task_instances_and_pools() -> None:
    POOLS.clear()
    with json_server(airflow) as server:
        client = AirflowApiClient(settings(server.url, AIRFLOW_API_TOKEN="jwt-given"))
        assert client.trigger_run("d", "manual__1", {}) is False  # exists already
        assert client.task_instance("d", "manual__1", "t")["state"] == "success"
        assert client.task_instance("d", "manual__1", "t", map_index=0)["path"].endswith("/t/0")
        assert client.task_instance("d", "manual__1", "missing") is None
        assert client.ensure_pool("spark", 2, "Spark jobs") == "created"
        assert client.ensure_pool("spark", 4, "Spark jobs") == "updated"
        assert POOLS["spark"] == {"name": "spark", "slots": 4, "description": "Spark jobs", "include_deferred": False}
        with pytest.raises(AirflowApiError, match=r"GET /api/v2/nothing: HTTP 404 .*/api/v2/nothing not found"):
            client.request("GET", "/api/v2/nothing")
        assert client.request("GET", "/api/v2/nothing", ok=(404,)).status_code == 404
        client.close()
