"""
Jobs without a DAG of their own, against the stack's real api-server, scheduler and triggerer: the generic job
DAG through `enterprise-orchestrator jobs submit|status|cancel|logs` and through the Python client (sync and
async), idempotent submission, priorities reaching Airflow's priority weight, and bad specs refused.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from airflow_provider_enterprise.clients.jobs import AsyncEnterpriseClient, EnterpriseClient, Job, SubmissionError
from airflow_provider_enterprise.operators.job_dag import JOB_DAG_ID, JOB_TASK_ID
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.cli import orchestrator, orchestrator_run
from support.env import EXAMPLE_DAGS
from support.stack import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.stack

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
LOGIC = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active'"},
        {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)", "n": "count(*)"}},
    ]
}


@pytest.fixture(scope="module")
def job_dag(airflow_stack) -> str:
    """The generic job DAG, parsed; it starts unpaused, so submissions run without anyone unpausing it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = airflow_stack.client.get(f"/api/v2/dags/{JOB_DAG_ID}")
        if response.status_code == 200:
            assert response.json()["is_paused"] is False
            return JOB_DAG_ID
        time.sleep(1)
    raise AssertionError(f"{JOB_DAG_ID} was not parsed\n{airflow_stack.logs_tail()}")


@pytest.fixture
def client(airflow_stack):
    with EnterpriseClient(airflow_stack.base_url, username=ADMIN_USER, password=ADMIN_PASSWORD) as c:
        yield c


def runs_of(stack) -> list[str]:
    runs = stack.client.get(f"/api/v2/dags/{JOB_DAG_ID}/dagRuns", params={"limit": 1000}).json()["dag_runs"]
    return [r["dag_run_id"] for r in runs]


def test_cli_submits_waits_and_reports_a_job(airflow_stack, job_dag, tmp_path: Path) -> None:
    output = tmp_path / "by_category"
    spec = tmp_path / "job.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "job_name": "cli_categories",
                "job_type": "etl_pipeline",
                "input_path": str(SAMPLE),
                "output_path": str(output),
                "processing_logic": LOGIC,
                "execution_engine": "local",
                "priority": "critical",
            }
        )
    )
    done = orchestrator_run(airflow_stack, "jobs", "submit", str(spec), "--wait", "--idempotency-key", "cli-k1")
    assert done.returncode == 0, done.stdout + done.stderr
    job_id = "job__cli-k1"
    assert f"submitted job {job_id}" in done.stdout and f"{job_id}: succeeded" in done.stdout
    assert "registry: job" in done.stdout and "'cli_categories', succeeded" in done.stdout
    assert (output / "_SUCCESS").exists()
    assert duckdb.sql(f"SELECT sum(n) FROM read_parquet('{output}/*.parquet')").fetchall()[0][0] > 0

    again = orchestrator_run(airflow_stack, "jobs", "submit", str(spec), "--idempotency-key", "cli-k1")
    assert again.returncode == 0 and f"submitted job {job_id}" in again.stdout
    assert runs_of(airflow_stack).count(job_id) == 1  # one run however often the key is sent

    status = orchestrator_run(airflow_stack, "jobs", "status", job_id)
    assert status.returncode == 0 and "succeeded" in status.stdout and "rows in/out 10000" in status.stdout
    assert "succeeded on local" in orchestrator(airflow_stack, "jobs", "logs", job_id)
    ti = airflow_stack.client.get(f"/api/v2/dags/{JOB_DAG_ID}/dagRuns/{job_id}/taskInstances/{JOB_TASK_ID}").json()
    assert ti["priority_weight"] == 50  # critical, through the provider's task_instance_mutation_hook
    assert orchestrator_run(airflow_stack, "jobs", "cancel", job_id).returncode == 1  # it has ended


def test_the_client_submits_and_follows_jobs_sync_and_async(airflow_stack, job_dag, client, tmp_path: Path) -> None:
    job = Job(
        job_name="client_categories",
        job_type="data_processing",
        input_path=str(SAMPLE),
        output_path=str(tmp_path / "sync"),
        processing_logic=LOGIC,
        execution_engine="local",
        priority="low",
    )
    job_id = client.submit_job(job)
    status = client.wait(job_id, timeout=180, poll_interval=1)
    assert (status.state, status.task_state, status.try_number) == ("succeeded", "success", 1)
    (attempt,) = status.registry["attempts"]
    assert (status.registry["job_name"], attempt["engine"], attempt["rows_in"]) == (
        "client_categories",
        "local",
        10_000,
    )

    async def submit_async() -> tuple[str, str]:
        async with AsyncEnterpriseClient(airflow_stack.base_url, username=ADMIN_USER, password=ADMIN_PASSWORD) as a:
            other = job.model_copy(update={"output_path": str(tmp_path / "async")})
            key = "async-k1"
            first, second = await asyncio.gather(
                a.submit_job(other, idempotency_key=key), a.submit_job(other, idempotency_key=key)
            )
            assert first == second == "job__async-k1"
            return first, (await a.wait(first, timeout=180, poll_interval=1)).state

    async_id, state = asyncio.run(submit_async())
    assert state == "succeeded" and runs_of(airflow_stack).count(async_id) == 1
    with pytest.raises(SubmissionError, match="'async-k1' was used for another job"):
        client.submit_job(job.model_copy(update={"job_name": "another"}), idempotency_key="async-k1")
    listed = {s.job_id: s.state for s in client.list_jobs(state="succeeded", limit=100)}
    assert listed[job_id] == listed[async_id] == "succeeded"
    ti = airflow_stack.client.get(f"/api/v2/dags/{JOB_DAG_ID}/dagRuns/{job_id}/taskInstances/{JOB_TASK_ID}").json()
    assert ti["priority_weight"] == 1  # low


def test_bad_specs_are_refused_with_the_field_named(airflow_stack, job_dag, client, tmp_path: Path) -> None:
    before = set(runs_of(airflow_stack))
    spec = tmp_path / "bad.yaml"
    bad_logic = {"transformations": [{"type": "filter", "condition": "reflect('java.lang.Runtime', 'exec')"}]}
    spec.write_text(
        yaml.safe_dump({"job_name": "bad", "input_path": "/in.csv", "output_path": "/o", "processing_logic": bad_logic})
    )
    done = orchestrator_run(airflow_stack, "jobs", "submit", str(spec))
    assert done.returncode == 2 and "transformations[0] (filter).condition: function 'reflect'" in done.stderr
    spec.write_text(yaml.safe_dump({"job_name": "bad", "input_path": "/in.csv", "output_path": "/o", "engine": "gpu"}))
    done = orchestrator_run(airflow_stack, "jobs", "submit", str(spec))
    assert done.returncode == 2 and "unknown field(s) engine" in done.stderr
    with pytest.raises(ValueError, match="execution_engine"):
        client.submit_job(Job(job_name="bad", input_path="/in.csv", output_path="/o", execution_engine="gpu"))
    assert set(runs_of(airflow_stack)) == before  # nothing was created

    # Past the client, Airflow applies the form's JSON Schema ...
    refused = airflow_stack.client.post(
        f"/api/v2/dags/{JOB_DAG_ID}/dagRuns",
        json={
            "logical_date": None,
            "conf": {"job_name": "x", "input_path": "/i", "output_path": "/o", "priority": "asap"},
        },
    )
    assert refused.status_code == 400 and "asap" in refused.text
    # ... and the task repeats the full check: an expression JSON Schema cannot judge fails the run at once
    run_id = airflow_stack.trigger(
        JOB_DAG_ID,
        conf={
            "job_name": "sneaky",
            "input_path": str(SAMPLE),
            "output_path": str(tmp_path / "x"),
            "processing_logic": bad_logic,
        },
    )
    assert airflow_stack.wait_for_run(JOB_DAG_ID, run_id) == "failed"
    status = client.get_job_status(run_id)
    (attempt,) = status.registry["attempts"]
    assert (attempt["error_class"], status.try_number) == ("InvalidJobSpec", 1)
    assert "function 'reflect'" in attempt["error_message"]


def running_attempt(client, job_id: str) -> bool:
    """Whether the job's latest try has registered its attempt and runs it."""
    attempts = (client.get_job_status(job_id).registry or {}).get("attempts") or []
    return bool(attempts) and attempts[-1]["status"] == "running"


def test_cancel_stops_a_running_job(
    airflow_stack, job_dag, client, stack_registry, slow_transactions: Path, tmp_path: Path
) -> None:
    logic = {"transformations": [{"type": "dedupe"}, {"type": "sort", "by": ["amount"]}]}
    job_id = client.submit_job(
        Job(
            job_name="long",
            input_path=str(slow_transactions),
            output_path=str(tmp_path / "out"),
            processing_logic=logic,
            execution_engine="local",
        )
    )
    deadline = time.monotonic() + 120
    # a state, not a clock: the try's attempt is registered; the cancel may land before its engine exists or
    # during its query (on_kill stops either)
    while not running_attempt(client, job_id):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.2)
    assert orchestrator_run(airflow_stack, "jobs", "cancel", job_id).returncode == 0
    assert airflow_stack.wait_for_run(JOB_DAG_ID, job_id) == "failed"
    deadline = time.monotonic() + 60
    while (status := client.get_job_status(job_id)).registry["attempts"][-1]["status"] == "running":
        assert time.monotonic() < deadline, "the attempt was never closed"
        time.sleep(1)
    assert status.state == "failed" and status.task_state == "failed"
    attempt = status.registry["attempts"][-1]
    assert (attempt["status"], attempt["error_class"]) == ("failed", "JobCancelledError")  # on_kill stopped DuckDB
    assert not (tmp_path / "out" / "_SUCCESS").exists()  # nothing was committed
    letters = DeadLetterQueue(stack_registry).find(dag_id=JOB_DAG_ID, run_id=job_id)
    assert letters == []  # a cancelled job is not a failure to replay
