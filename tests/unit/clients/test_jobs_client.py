"""
Tests for client.py against a local HTTP server (the stdlib's) that answers as Airflow's REST API and the plugin
API do: the requests each operation sends, login, idempotent submission, errors, and the async twin. The real
api-server is tested in tests/stack/test_job_submission.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_enterprise.clients.jobs import (
    JOB_DAG_ID,
    AsyncEnterpriseClient,
    EnterpriseClient,
    Job,
    JobStatus,
    SubmissionError,
    run_id_for,
)
from airflow_provider_enterprise.spec import InvalidJobSpec
from support.json_server import JsonServer, Received, json_server

RUNS = f"/api/v2/dags/{JOB_DAG_ID}/dagRuns"
JOB = Job(job_name="daily", input_path="/data/in.csv", output_path="/data/out")


class FakeAirflow:
    """Airflow's answers for the job DAG's runs, one task instance and the plugin's job listing."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.task: dict[str, Any] | None = None
        self.registry_job: dict[str, Any] | None = None
        self.logs: Any = [{"event": "started"}, {"event": "done"}]
        self.fail_next: int | None = None
        self.server: JsonServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def requests(self) -> list[Received]:
        assert self.server is not None
        return self.server.received

    def __call__(self, request: Received) -> tuple[int, Any]:
        if request.path != "/auth/token" and request.authorization != "Bearer jwt-1":
            return 401, {"detail": "Not authenticated"}
        if self.fail_next is not None:
            code, self.fail_next = self.fail_next, None
            return code, {"detail": "the api-server is restarting"}
        method, path, body = request.method, request.path, request.body
        if (method, path) == ("POST", "/auth/token"):
            ok = body == {"username": "admin", "password": "pw"}
            return (201, {"access_token": "jwt-1"}) if ok else (401, {"detail": "Invalid credentials"})
        if (method, path) == ("POST", RUNS):
            if body["dag_run_id"] in self.runs:
                return 409, {"detail": "DAG run already exists"}
            self.runs[body["dag_run_id"]] = {"dag_run_id": body["dag_run_id"], "state": "queued", "conf": body["conf"]}
            return 200, self.runs[body["dag_run_id"]]
        if (method, path) == ("GET", RUNS):
            return 200, {"dag_runs": list(self.runs.values())}
        if path == "/enterprise/api/v1/jobs":
            return 200, {"jobs": [self.registry_job] if self.registry_job else [], "total_entries": 1}
        if path.startswith("/enterprise/api/v1/jobs/"):
            return 200, {**(self.registry_job or {}), "attempts": [{"checks": [{"name": "rows"}]}]}
        run_id, _, rest = path.removeprefix(RUNS + "/").partition("/")
        if run_id not in self.runs:
            return 404, {"detail": f"DAGRun {run_id} not found"}
        if not rest and method == "PATCH":
            self.runs[run_id]["state"] = body["state"]
        if not rest:
            return 200, self.runs[run_id]
        if rest.endswith("/logs/2") or rest.endswith("/logs/1"):
            return 200, {"content": self.logs}
        return (200, self.task) if self.task else (404, {"detail": "no task instance"})


@pytest.fixture
def airflow() -> Iterator[FakeAirflow]:
    fake = FakeAirflow()
    with json_server(fake) as fake.server:
        yield fake


@pytest.fixture
def client(airflow: FakeAirflow) -> Iterator[EnterpriseClient]:
    with EnterpriseClient(airflow.url + "/", username="admin", password="pw") as c:
        yield c


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="give token, or username and password"):
        EnterpriseClient("http://127.0.0.1:9", username="admin")


def test_it_logs_in_once_and_submits_the_validated_job(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    job_id = client.submit_job(JOB, idempotency_key="daily-2026-12-06")
    assert job_id == "job__daily-2026-12-06"
    client.submit_job(JOB)
    methods_paths = [(r.method, r.path) for r in airflow.requests]
    assert methods_paths == [("POST", "/auth/token"), ("POST", RUNS), ("POST", RUNS)]
    body, authorization = airflow.requests[1].body, airflow.requests[1].authorization
    assert authorization == "Bearer jwt-1"
    assert body["logical_date"] is None  # runs from the API have no logical date
    assert body["conf"] == JOB.conf()
    assert body["conf"]["execution_engine"] == "auto"
    assert "timeout" not in body["conf"]  # None values are left out


def test_a_bad_job_is_refused_before_anything_is_posted(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    bad = Job(job_name="daily", input_path="/in.csv", output_path="/out", execution_engine="gpu")
    with pytest.raises(InvalidJobSpec, match="execution_engine"):
        client.submit_job(bad)
    assert [r.path for r in airflow.requests] == ["/auth/token"]  # logged in, but no run posted
    assert airflow.runs == {}


def test_a_reused_idempotency_key_returns_the_same_run_or_refuses_another_job(
    airflow: FakeAirflow, client: EnterpriseClient
) -> None:
    first = client.submit_job(JOB, idempotency_key="k1")
    assert client.submit_job(JOB, idempotency_key="k1") == first
    assert len(airflow.runs) == 1
    other = JOB.model_copy(update={"output_path": "/data/elsewhere"})
    with pytest.raises(SubmissionError, match="idempotency key 'k1' was used for another job"):
        client.submit_job(other, idempotency_key="k1")
    with pytest.raises(ValueError, match="idempotency key 'a b'"):
        run_id_for("a b")


def test_refused_requests_name_the_request_and_status(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    with pytest.raises(SubmissionError, match=rf"GET {RUNS}/job__missing: HTTP 404 .*DAGRun job__missing not found"):
        client.get_job_status("job__missing")
    airflow.fail_next = 503
    with pytest.raises(SubmissionError, match="HTTP 503"):
        client.list_jobs()
    refused = EnterpriseClient(airflow.url, username="admin", password="wrong")
    with refused, pytest.raises(SubmissionError, match="POST /auth/token: HTTP 401"):
        refused.list_jobs()


def test_status_joins_the_run_its_task_and_the_registry(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    job_id = client.submit_job(JOB)
    status = client.get_job_status(job_id)
    assert status == JobStatus(job_id, "queued")  # no task instance, no registry row yet
    assert not status.done
    assert status.checks == []
    airflow.runs[job_id]["state"] = "success"
    airflow.task = {"state": "success", "try_number": 2}
    airflow.registry_job = {"job_id": 5}
    status = client.get_job_status(job_id)
    assert (status.state, status.task_state, status.try_number, status.done) == ("succeeded", "success", 2, True)
    assert status.checks == [{"name": "rows"}]
    assert client.get_job_logs(job_id) == "started\ndone"  # the latest try's
    airflow.logs = "plain text log"
    assert client.get_job_logs(job_id, try_number=1) == "plain text log"


def test_cancel_fails_a_running_run_once(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    job_id = client.submit_job(JOB)
    assert client.cancel_job(job_id) is True
    assert airflow.runs[job_id]["state"] == "failed"
    assert client.cancel_job(job_id) is False
    assert sum(1 for r in airflow.requests if r.method == "PATCH") == 1


def test_list_and_wait_speak_in_job_states(airflow: FakeAirflow, client: EnterpriseClient) -> None:
    job_id = client.submit_job(JOB)
    assert client.list_jobs(state="succeeded", limit=5) == [JobStatus(job_id, "queued")]
    assert airflow.requests[-1].query == {"limit": ["5"], "order_by": ["-run_after"], "state": ["success"]}
    seen: list[str] = []
    assert client.wait(job_id, timeout=0, on_status=lambda s: seen.append(s.state)).state == "queued"
    assert seen == ["queued"]


def test_the_async_client_sends_the_same_requests(airflow: FakeAirflow) -> None:
    async def follow() -> tuple[str, JobStatus, bool]:
        async with AsyncEnterpriseClient(airflow.url, username="admin", password="pw") as c:
            job_id = await c.submit_job(JOB, idempotency_key="async-1")
            airflow.runs[job_id]["state"] = "failed"
            return job_id, await c.wait(job_id), await c.cancel_job(job_id)

    job_id, status, cancelled = asyncio.run(follow())
    assert (job_id, status.state, status.done, cancelled) == ("job__async-1", "failed", True, False)
    assert [(r.method, r.path) for r in airflow.requests][:2] == [("POST", "/auth/token"), ("POST", RUNS)]
