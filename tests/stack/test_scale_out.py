"""
Scale-out on the real stack: processing jobs on the CeleryExecutor with two Celery workers, each on a host of its
own (a UTS namespace), sharing the Redis broker, Airflow's metadata database and the job registry.

- 16 jobs spread over both workers, sharing no disk: their input and outputs are in the session's S3 endpoint
  (moto's server on loopback) only. One worker is SIGKILLed with jobs running on it (the host is lost): its jobs
  are retried on the other, and every job ends succeeded or dead-lettered, with one published output each.
- A breaker opened by failures on one worker refuses the job the other worker runs.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.output.object_store import CLAIMS, read_object_manifest
from airflow_provider_enterprise.resilience.circuit_breaker import BreakerState, CircuitBreaker
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.cli import orchestrator

pytestmark = pytest.mark.stack

JOBS = 16  # tests/stack/dags/scale_out_dags.py: SCALE_OUT_JOBS
ROWS = 3_000_000
#: Both workers serve the local engine's queue and their own; only worker-a serves Spark's.
WORKERS = {
    "worker-a": ("default", "enterprise_local", "enterprise_spark", "worker-a"),
    "worker-b": ("default", "enterprise_local", "worker-b"),
}


@pytest.fixture(scope="module")
def celery_workers(airflow_stack):
    for dag_id in ("stack_scale_out", "stack_scale_out_breaker"):
        airflow_stack.wait_for_dag(dag_id)
    workers = airflow_stack.start_celery_workers(WORKERS)
    yield workers
    for name, worker in workers.items():
        worker.stop()
        airflow_stack.workers.pop(name, None)


@pytest.fixture(scope="module")
def transactions(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scale-out") / "transactions.parquet"
    duckdb.sql(
        "COPY (SELECT range AS transaction_id, CASE WHEN range % 4 = 0 THEN 'inactive' ELSE 'active' END AS status,"
        " 'c' || (range % 7) AS category, (range % 1000) / 10.0 AS amount"
        f" FROM range({ROWS})) TO '{path}' (FORMAT parquet)"
    )
    return path


@pytest.fixture(scope="module")
def s3_transactions(s3_endpoint, transactions: Path) -> str:
    """The input in a bucket of its own, where the scale-out jobs read it."""
    bucket = s3_endpoint.new_bucket()
    s3_endpoint.filesystem().put_file(str(transactions), f"{bucket}/in/transactions.parquet")
    return f"s3://{bucket}/in/transactions.parquet"


def task_instances(stack, dag_id: str, run_id: str, task_id: str) -> list[dict]:
    response = stack.client.get(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"task_id": task_id, "limit": 100}
    )
    response.raise_for_status()
    return [ti for ti in response.json()["task_instances"] if ti["task_id"] == task_id]


def attempts_by_job(registry, dag_id: str, run_id: str, task_id: str, jobs: int) -> dict[int, list[dict]]:
    found = {i: registry.find_job(JobKey(dag_id, run_id, task_id, i)) for i in range(jobs)}
    return {i: (job or {}).get("attempts", []) for i, job in found.items()}


def test_each_engines_jobs_are_queued_for_the_workers_that_serve_it(airflow_stack, celery_workers) -> None:
    airflow_stack.wait_for_dag("stack_scale_out_spark")
    queue_of = {
        dag_id: airflow_stack.client.get(f"/api/v2/dags/{dag_id}/tasks/{task_id}").json()["queue"]
        for dag_id, task_id in (("stack_scale_out", "process"), ("stack_scale_out_spark", "spark_job"))
    }
    assert queue_of == {"stack_scale_out": "enterprise_local", "stack_scale_out_spark": "enterprise_spark"}
    assert [name for name, queues in WORKERS.items() if "enterprise_spark" in queues] == ["worker-a"]


def test_a_breaker_opened_on_one_worker_is_open_on_the_other(
    airflow_stack, celery_workers, stack_registry, transactions: Path, tmp_path: Path
) -> None:
    dag_id = "stack_scale_out_breaker"
    run_id = airflow_stack.trigger(dag_id, conf={"input_path": str(transactions), "output_root": str(tmp_path)})
    assert airflow_stack.wait_for_run(dag_id, run_id, timeout=240) == "failed"

    overruns = attempts_by_job(stack_registry, dag_id, run_id, "overrun", 5)
    assert {(a["hostname"], a["error_class"]) for tries in overruns.values() for a in tries} == {
        ("worker-a", "JobTimeoutError")
    }
    (refused,) = stack_registry.find_job(JobKey(dag_id, run_id, "refused"))["attempts"]
    assert (refused["hostname"], refused["status"], refused["error_class"]) == (
        "worker-b",
        "failed",
        "CircuitOpenError",
    )
    (ti,) = task_instances(airflow_stack, dag_id, run_id, "refused")
    assert (ti["hostname"], ti["queue"], ti["state"]) == ("worker-b", "worker-b", "failed")
    assert CircuitBreaker(stack_registry, "storage:scale-out").status()["state"] == BreakerState.OPEN
    assert not (tmp_path / "refused").exists()  # refused before it read anything


def test_jobs_spread_over_workers_and_survive_a_lost_worker(
    airflow_stack, celery_workers, stack_registry, s3_endpoint, s3_transactions: str
) -> None:
    dag_id, task_id = "stack_scale_out", "process"
    started = time.monotonic()
    fs = s3_endpoint.filesystem()
    output_root = s3_transactions.rsplit("/in/", 1)[0] + "/out"
    run_id = airflow_stack.trigger(dag_id, conf={"input_path": s3_transactions, "output_root": output_root})

    # Once both workers have finished jobs, lose worker-a while it runs one.
    spread = JOBS // 8
    victim, killed_running = celery_workers["worker-a"], []
    deadline = time.monotonic() + 240
    while not killed_running:
        assert time.monotonic() < deadline, airflow_stack.logs_tail()
        attempts = [
            a for tries in attempts_by_job(stack_registry, dag_id, run_id, task_id, JOBS).values() for a in tries
        ]
        done = Counter(a["hostname"] for a in attempts if a["status"] == "succeeded")
        running = [a for a in attempts if a["status"] == "running" and a["hostname"] == victim.hostname]
        if min(done[name] for name in WORKERS) >= spread and running:
            victim.kill()
            killed_running = running
        time.sleep(0.1)

    state = airflow_stack.wait_for_run(dag_id, run_id, timeout=300)
    elapsed = time.monotonic() - started
    orchestrator(airflow_stack, "dlq", "reconcile", "--stale-after", "1")

    jobs = attempts_by_job(stack_registry, dag_id, run_id, task_id, JOBS)
    letters = {
        d["job_id"] for d in DeadLetterQueue(stack_registry).find(dag_id=dag_id, limit=1000) if d["run_id"] == run_id
    }
    outcome = Counter()
    retried = {a["job_id"] for a in killed_running}
    for i, tries in jobs.items():
        assert tries and all(a["status"] != "running" for a in tries), (i, tries)
        succeeded = [a for a in tries if a["status"] == "succeeded"]
        # Never two successful attempts of one job, but for one whose success the registry recorded just before
        # its worker died: Airflow never saw that try end, so it retried it, and the retry reused the committed
        # output (engines/reuse.py: a retry, unlike a user's clear, is told by the task instance's max_tries).
        assert len(succeeded) <= 1 or (
            len(succeeded) == 2 and succeeded[0]["hostname"] == victim.hostname and tries[0]["job_id"] not in retried
        ), (i, tries)
        if succeeded:
            outcome["succeeded"] += 1
            output = f"{output_root}/job_{i:02d}"
            manifest = read_object_manifest(fs, output)
            assert manifest is not None, i
            totals = sum(
                sum(pq.read_table(io.BytesIO(fs.cat_file(f"{output}/{f['path']}"))).column("n").to_pylist())
                for f in manifest["files"]
            )
            assert totals == ROWS * 3 // 4, (i, totals)  # every active row counted once, in the manifest's files
        elif stack_registry.find_job(JobKey(dag_id, run_id, task_id, i))["job_id"] in letters:
            outcome["dead_lettered"] += 1
        else:
            outcome["lost"] += 1
    hosts = Counter(a["hostname"] for tries in jobs.values() for a in tries if a["status"] == "succeeded")
    print(
        f"scale-out: {JOBS} jobs in {elapsed:.0f} s, run {state}, outcome {dict(outcome)}, successes by host"
        f" {dict(hosts)}, killed with {len(killed_running)} running on {victim.hostname}"
    )
    assert outcome["lost"] == 0 and outcome["succeeded"] + outcome["dead_lettered"] == JOBS
    assert set(hosts) == set(WORKERS)  # the registry shows both hosts
    for tries in jobs.values():  # the killed worker's jobs were retried on the other one
        if tries[0]["job_id"] in retried:
            assert tries[-1]["hostname"] == "worker-b" and tries[-1]["try_number"] > tries[0]["try_number"], tries
    fs.invalidate_cache()
    leftovers = [p for p in fs.find(output_root.removeprefix("s3://")) if f"/{CLAIMS}/" in p]
    assert len(leftovers) <= len(killed_running), leftovers  # only a lost attempt's claim (and its objects)
    assert state == ("success" if outcome["dead_lettered"] == 0 else "failed")
