"""
A Python client for jobs without a DAG of their own, in the v1 job API's vocabulary.

``client.submit_job(Job(...))`` starts a run of the generic job DAG (``enterprise_job``) through Airflow's REST
API; the returned ``job_id`` is that DAG run's id. ``get_job_status``, ``cancel_job``, ``list_jobs``,
``get_job_logs`` and ``wait`` read and act on it the same way, and the registry's record of the job comes from
the plugin API. :class:`EnterpriseClient` is synchronous, :class:`AsyncEnterpriseClient` its ``async`` twin;
both run the same request sequences (each operation is written once, as a generator of requests). A job
is validated with the engines' models before anything is posted. No Airflow import: the client runs anywhere.

    client = EnterpriseClient("http://airflow:28080", username="admin", password="...")
    job_id = client.submit_job(Job(job_name="daily", input_path="/data/in.csv", output_path="/data/out"))
    client.wait(job_id).state  # "succeeded"
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from airflow_provider_enterprise.exceptions import EnterpriseError
from airflow_provider_enterprise.spec.submission import (
    JOB_DAG_ID,
    JOB_TASK_ID,
    JobType,
    submission_defaults,
    validate_submission,
)

__all__ = ["AsyncEnterpriseClient", "EnterpriseClient", "Job", "JobStatus", "JobType", "SubmissionError"]

#: A job's state, from its DAG run's.
STATES = {"queued": "queued", "running": "running", "success": "succeeded", "failed": "failed"}
TERMINAL_STATES = ("succeeded", "failed")


class SubmissionError(EnterpriseError):
    """Airflow refused a request, or an idempotency key was reused for another job."""


#: A job's defaults, from the job's fields (:func:`~airflow_provider_enterprise.spec.models.job_fields`).
_DEFAULTS = submission_defaults()


class Job(BaseModel):
    """
    A job to submit: the v1 API's fields, checked by the same models as every other job.

    Its fields are the submission's (:data:`~airflow_provider_enterprise.spec.submission.SUBMISSION_FIELDS`),
    with the job spec's defaults; they are checked when the job is posted (:meth:`conf`).
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    job_name: str
    input_path: str
    output_path: str
    job_type: JobType | str = _DEFAULTS["job_type"]
    job_data: dict[str, Any] = _DEFAULTS["job_data"]
    execution_engine: str = _DEFAULTS["execution_engine"]
    priority: str = _DEFAULTS["priority"]
    processing_logic: dict[str, Any] = _DEFAULTS["processing_logic"]
    timeout: float | None = _DEFAULTS["timeout"]
    output_format: str = _DEFAULTS["output_format"]
    on_bad_rows: str = _DEFAULTS["on_bad_rows"]
    storage_conn_id: str | None = _DEFAULTS["storage_conn_id"]

    def conf(self) -> dict[str, Any]:
        """The run's conf; :class:`~airflow_provider_enterprise.spec.InvalidJobSpec` names a bad field."""
        data = self.model_dump(exclude_none=True)
        validate_submission(data)
        return data


@dataclass(frozen=True)
class JobStatus:
    """Where a submitted job is: its state, its task's latest try, and the registry's record of it."""

    job_id: str
    state: str
    task_state: str | None = None
    try_number: int | None = None
    registry: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def checks(self) -> list[dict[str, Any]]:
        """The data-quality check results of the job's latest attempt (name, type, severity, target, outcome,
        observed, failing_rows, message); empty before it ran or without checks."""
        attempts = (self.registry or {}).get("attempts") or []
        return list(attempts[-1].get("checks") or []) if attempts else []


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    ok: tuple[int, ...] = ()


T = TypeVar("T")
#: A conversation with Airflow's REST API: it yields requests, is sent their responses and returns its result.
_Operation = Generator[_Request, httpx.Response, T]


def run_id_for(idempotency_key: str | None) -> str:
    """The DAG run id of a submission: derived from its idempotency key, or new."""
    if idempotency_key is None:
        return f"job__{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}_{uuid.uuid4().hex[:8]}"
    if not re.fullmatch(r"[\w.:+~-]{1,200}", idempotency_key):
        raise ValueError(f"idempotency key {idempotency_key!r}: use at most 200 letters, digits and . _ : + ~ -")
    return f"job__{idempotency_key}"


def _check(request: _Request, response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400 and response.status_code not in request.ok:
        raise SubmissionError(f"{request.method} {request.path}: HTTP {response.status_code} {response.text[:500]}")
    return response


def _run_path(job_id: str) -> str:
    return f"/api/v2/dags/{JOB_DAG_ID}/dagRuns/{job_id}"


def _submit(job: Job, idempotency_key: str | None) -> _Operation[str]:
    conf = job.conf()
    run_id = run_id_for(idempotency_key)
    body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
    response = yield _Request("POST", f"/api/v2/dags/{JOB_DAG_ID}/dagRuns", json=body, ok=(409,))
    if response.status_code == 409:  # the key was sent before: the same job, or a misuse of the key
        existing = (yield _Request("GET", _run_path(run_id))).json()
        if {k: v for k, v in (existing.get("conf") or {}).items() if k in conf} != conf:
            raise SubmissionError(f"idempotency key {idempotency_key!r} was used for another job ({run_id})")
    return run_id


def _run_state(job_id: str) -> _Operation[str]:
    """The job's state, from its DAG run's."""
    state: str = (yield _Request("GET", _run_path(job_id))).json()["state"]
    return STATES.get(state, state)


def _task_instance(job_id: str) -> _Operation[dict[str, Any]]:
    """The job's task instance, or {} before the scheduler has made it."""
    ti = yield _Request("GET", f"{_run_path(job_id)}/taskInstances/{JOB_TASK_ID}", ok=(404,))
    return ti.json() if ti.status_code == 200 else {}


def _status(job_id: str) -> _Operation[JobStatus]:
    state = yield from _run_state(job_id)
    task = yield from _task_instance(job_id)
    listed = yield _Request(
        "GET", "/enterprise/api/v1/jobs", params={"dag_id": JOB_DAG_ID, "run_id": job_id, "limit": 1}, ok=(404,)
    )
    jobs = listed.json().get("jobs", []) if listed.status_code == 200 else []
    registry = None
    if jobs:
        registry = (yield _Request("GET", f"/enterprise/api/v1/jobs/{jobs[0]['job_id']}")).json()
    return JobStatus(job_id, state, task.get("state"), task.get("try_number"), registry)


def _cancel(job_id: str) -> _Operation[bool]:
    """Fail the run: Airflow stops its running task, whose on_kill stops any Spark application."""
    if (yield from _run_state(job_id)) in TERMINAL_STATES:
        return False
    yield _Request("PATCH", _run_path(job_id), json={"state": "failed"})
    return True


def _list(state: str | None, limit: int) -> _Operation[list[JobStatus]]:
    params: dict[str, Any] = {"limit": limit, "order_by": "-run_after"}
    if state is not None:
        params["state"] = [k for k, v in STATES.items() if v == state] or [state]
    runs = (yield _Request("GET", f"/api/v2/dags/{JOB_DAG_ID}/dagRuns", params=params)).json()["dag_runs"]
    return [JobStatus(r["dag_run_id"], STATES.get(r["state"], r["state"])) for r in runs]


def _logs(job_id: str, try_number: int | None) -> _Operation[str]:
    if try_number is None:
        try_number = (yield from _task_instance(job_id)).get("try_number") or 1
    path = f"{_run_path(job_id)}/taskInstances/{JOB_TASK_ID}/logs/{try_number}"
    content = (yield _Request("GET", path, params={"full_content": "true"})).json().get("content", [])
    if isinstance(content, str):
        return content
    return "\n".join(entry.get("event", "") if isinstance(entry, dict) else str(entry) for entry in content)


def _login(username: str, password: str) -> _Operation[str]:
    response = yield _Request("POST", "/auth/token", json={"username": username, "password": password})
    token: str = response.json()["access_token"]
    return token


def _drive(operation: _Operation[T], send: Callable[[_Request], httpx.Response]) -> T:
    try:
        request = next(operation)
        while True:
            request = operation.send(_check(request, send(request)))
    except StopIteration as stop:
        result: T = stop.value  # what the operation returned
        return result


class _Client:
    """
    What both clients share: the connection to Airflow and its credentials.

    :param url: the Airflow api-server, e.g. ``http://airflow:28080``.
    :param token: a JWT; or ``username`` and ``password``, exchanged for one at ``/auth/token`` on first use.
    :param timeout: seconds per HTTP request.
    """

    _http_class: type = httpx.Client

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        if token is None and not (username and password):
            raise ValueError("give token, or username and password")
        self._http = self._http_class(base_url=url.rstrip("/"), timeout=timeout)
        self._credentials = (username or "", password or "")  # used only without a token, when both are set
        if token is not None:
            self._http.headers["Authorization"] = f"Bearer {token}"

    @property
    def _logged_in(self) -> bool:
        return "Authorization" in self._http.headers

    def _logged_in_with(self, token: str) -> None:
        self._http.headers["Authorization"] = f"Bearer {token}"


class EnterpriseClient(_Client):
    """Submit and follow jobs through Airflow's REST API (see :class:`_Client` for the arguments)."""

    def _run(self, operation: _Operation[T]) -> T:
        if not self._logged_in:
            self._logged_in_with(self._send_all(_login(*self._credentials)))
        return self._send_all(operation)

    def _send_all(self, operation: _Operation[T]) -> T:
        return _drive(operation, lambda r: self._http.request(r.method, r.path, json=r.json, params=r.params))

    def submit_job(self, job: Job, *, idempotency_key: str | None = None) -> str:
        """Start the job; return its ``job_id``. The same ``idempotency_key`` always gives the same one run."""
        return self._run(_submit(job, idempotency_key))

    def get_job_status(self, job_id: str) -> JobStatus:
        return self._run(_status(job_id))

    def cancel_job(self, job_id: str) -> bool:
        """Stop the job; return False if it had already ended."""
        return self._run(_cancel(job_id))

    def list_jobs(self, *, state: str | None = None, limit: int = 50) -> list[JobStatus]:
        """Submitted jobs, newest first (``state``: queued, running, succeeded or failed)."""
        return self._run(_list(state, limit))

    def get_job_logs(self, job_id: str, *, try_number: int | None = None) -> str:
        """The task log of a try (default: the latest)."""
        return self._run(_logs(job_id, try_number))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        on_status: Callable[[JobStatus], object] | None = None,
    ) -> JobStatus:
        """Poll until the job ends (or ``timeout`` seconds pass); ``on_status`` sees every status read."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.get_job_status(job_id)
            if on_status is not None:
                on_status(status)
            if status.done or (deadline is not None and time.monotonic() >= deadline):
                return status
            time.sleep(poll_interval)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EnterpriseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEnterpriseClient(_Client):
    """The ``async`` twin of :class:`EnterpriseClient` (same arguments, same methods, awaited)."""

    _http_class = httpx.AsyncClient

    async def _run(self, operation: _Operation[T]) -> T:
        if not self._logged_in:
            self._logged_in_with(await self._send_all(_login(*self._credentials)))
        return await self._send_all(operation)

    async def _send_all(self, operation: _Operation[T]) -> T:
        try:
            request = next(operation)
            while True:
                response = await self._http.request(
                    request.method, request.path, json=request.json, params=request.params
                )
                request = operation.send(_check(request, response))
        except StopIteration as stop:
            result: T = stop.value  # what the operation returned
            return result

    async def submit_job(self, job: Job, *, idempotency_key: str | None = None) -> str:
        return await self._run(_submit(job, idempotency_key))

    async def get_job_status(self, job_id: str) -> JobStatus:
        return await self._run(_status(job_id))

    async def cancel_job(self, job_id: str) -> bool:
        return await self._run(_cancel(job_id))

    async def list_jobs(self, *, state: str | None = None, limit: int = 50) -> list[JobStatus]:
        return await self._run(_list(state, limit))

    async def get_job_logs(self, job_id: str, *, try_number: int | None = None) -> str:
        return await self._run(_logs(job_id, try_number))

    async def wait(self, job_id: str, *, timeout: float | None = None, poll_interval: float = 2.0) -> JobStatus:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = await self.get_job_status(job_id)
            if status.done or (deadline is not None and time.monotonic() >= deadline):
                return status
            await asyncio.sleep(poll_interval)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEnterpriseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
