"""
``EnterpriseDataProcessingOperator(deferrable=True)`` on Kubernetes and YARN in cluster deploy mode, through
``dag.test()`` (which runs the trigger in-process) on a real registry: the task submits the generic application
and defers, the trigger polls the driver pod or the YARN application, and the resumed task reads what the driver
committed, or re-raises its error.

Kubernetes and YARN cannot run here: spark-submit's cluster-mode submission and the status APIs are stand-ins
(:mod:`support.fake_cluster`, :mod:`support.status_server`); the driver runs the job on the test session's real
Spark, and the refusals of modes that cannot defer are checked without any.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.config import SparkEngineSettings
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget, resolve_target, result_path
from airflow_provider_enterprise.exceptions import PermanentJobError, SparkApplicationError
from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import EXAMPLE_DAGS, MIXED
from support.fake_cluster import FakeCluster
from support.processes import wait_for
from support.status_server import StatusServer

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
TOKEN = "k8s-api-token-5f2c19"


@pytest.fixture(params=["kubernetes", "yarn"])
def cluster(request, tmp_path: Path, monkeypatch, spark):
    server = StatusServer().start()
    directory = tmp_path / "cluster"
    directory.mkdir()
    fake = FakeCluster(request.param, directory, server, spark)
    fake.install(monkeypatch)
    fake.connection(monkeypatch, "spark_cluster_test", TOKEN)
    yield fake
    server.stop()


def rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet') ORDER BY ALL").fetchall()


def test_a_deferred_job_resumes_with_the_output_its_driver_committed(dags, registry, cluster, tmp_path) -> None:
    cluster.drive()
    out = tmp_path / "out"
    dag_run = dags.deferred.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})

    assert dag_run.state == "success"
    (argv,) = cluster.submissions()  # one application, submitted detached in cluster mode
    assert argv[argv.index("--deploy-mode") + 1] == "cluster"
    assert (
        f"spark.{'kubernetes.submission' if cluster.backend == 'kubernetes' else 'yarn.submit'}.waitAppCompletion=false"
        in argv
    )
    assert not any(TOKEN in arg for arg in argv)
    logic = dags.deferred.get_task("process").processing_logic
    local = LocalEngine().run(
        validate_job_spec(
            {
                "job_name": "local",
                "input_path": str(SAMPLE),
                "output_path": str(tmp_path / "local"),
                "processing_logic": logic,
            }
        )
    )
    assert rows(out) == rows(tmp_path / "local")
    (attempt,) = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
    assert (attempt["status"], attempt["external_id"]) == ("succeeded", cluster.external_id())
    assert (attempt["rows_in"], attempt["rows_out"]) == (10_000, local.rows_out)
    assert attempt["status_api"] == {
        "backend": cluster.backend,
        "url": cluster.server.url,
        "conn_id": "spark_cluster_test",
    }
    polls = [auth for method, path, auth in cluster.server.requests if method == "GET"]
    assert polls and set(polls) == ({f"Bearer {TOKEN}"} if cluster.backend == "kubernetes" else {None})
    assert not list(tmp_path.glob(".out.result-*")), "the driver's outcome file is removed once read"


def test_a_retry_reattaches_to_the_application_its_failed_try_left_running(dags, registry, cluster, tmp_path) -> None:
    server = cluster.server

    def outage_then_retry() -> bool:
        # try 1's trigger gives up after 5 failed polls in a row (a transient failure) and polls no more
        before = len(server.requests)
        server.outage = True
        wait_for(lambda: len(server.requests) >= before + 5, "5 polls during the outage", interval=0.02)
        server.outage = False
        seen = len(server.requests)
        # try 2 reads the application's status (Running: it re-attaches), then its trigger polls it
        wait_for(lambda: len(server.requests) >= seen + 2, "the retry's status reads", interval=0.02)
        return True

    cluster.drive(while_running=outage_then_retry)
    out = tmp_path / "out"
    dag_run = dags.deferred_retry.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})

    assert dag_run.state == "success"
    assert len(cluster.submissions()) == 1, "the retry re-attached instead of submitting a second application"
    first, second = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
    assert (first["status"], first["error_class"]) == ("failed", "SparkApplicationError")
    assert "is unavailable" in first["error_message"]
    assert (second["status"], second["external_id"], second["rows_in"]) == ("succeeded", cluster.external_id(), 10_000)
    assert rows(out)


def test_a_deferred_job_past_its_timeout_is_killed_on_the_cluster(dags, registry, cluster, tmp_path) -> None:
    killed = {"kubernetes": None, "yarn": "KILLED/KILLED"}[cluster.backend]  # a deleted pod is gone

    def outlives_its_timeout() -> bool:
        wait_for(lambda: cluster.state() == killed, "the application killed", timeout=60, interval=0.05)
        return False  # a killed driver runs no job

    cluster.drive(while_running=outlives_its_timeout)
    out = tmp_path / "out"
    dag_run = dags.deferred_timeout.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})

    assert dag_run.state == "failed"
    assert cluster.state() == killed
    (attempt,) = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
    assert (attempt["status"], attempt["error_class"]) == ("failed", "JobTimeoutError")
    assert cluster.external_id() in attempt["error_message"]
    assert not out.exists()


def test_the_drivers_own_error_fails_the_resumed_task_without_retries(dags, registry, cluster, tmp_path) -> None:
    source = tmp_path / "mixed.csv"
    source.write_bytes(MIXED)
    cluster.drive()
    out = tmp_path / "out"
    dag_run = dags.deferred_strict.test(run_conf={"input_path": str(source), "output_path": str(out)})

    assert dag_run.state == "failed"
    assert len(cluster.submissions()) == 1
    assert cluster.state() in ("Failed", "FINISHED/FAILED")
    (attempt,) = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
    # the class the driver raised, not "the pod failed": on_bad_rows='fail' is permanent
    assert (attempt["status"], attempt["error_class"]) == ("failed", "BadRowsError")
    assert "input 'input': 7 (" in attempt["error_message"]
    assert not out.exists()


@pytest.mark.parametrize("waiting", ["detached", "synchronous"])
def test_a_new_submission_removes_the_outcome_files_of_the_jobs_earlier_runs(cluster, tmp_path, waiting) -> None:
    # a try that timed out or lost the status API never read its driver's outcome file beside the output
    cluster.drive(while_running=lambda: False)  # accepted, then killed: the driver runs nothing
    spec = validate_job_spec(
        {"job_name": "stale", "input_path": str(SAMPLE), "output_path": str(tmp_path / "out"), "processing_logic": {}}
    )
    earlier, unrelated = result_path(spec, "job-7-1-0a1b2c3d"), result_path(spec, "job-8-1-0a1b2c3d")
    for path in (earlier, unrelated):
        path.write_text('{"status": "failed"}')
    engine = SparkEngine(
        target=resolve_target(SparkEngineSettings(), "spark_cluster_test"),
        settings=SparkEngineSettings(),
        run_id="job-7-2-4e5f6a7b",
        previous_run_ids=["job-7-1-0a1b2c3d"],
    )

    if waiting == "detached":
        engine.submit_detached(spec)
    else:  # a synchronous cluster-mode run reads its outcome beside the output; this driver left none
        with pytest.raises(SparkApplicationError, match="committed no output"):
            engine.run(spec)

    assert len(cluster.submissions()) == 1
    assert not earlier.exists(), "the job's earlier run's outcome is superseded by this run"
    assert unrelated.exists(), "another job's outcome file is not this run's to remove"


def test_deferrable_needs_the_spark_engine_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="deferrable=True needs execution_engine='spark'"):
        EnterpriseDataProcessingOperator(
            task_id="t", job_name="j", input_path="in.csv", output_path="out", deferrable=True
        )


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        ({"host": "local[2]"}, "in deploy mode client runs the driver in the task"),
        (
            {"host": "spark://127.0.0.1", "port": 7077, "extra": {"deploy-mode": "cluster"}},
            "a standalone master, which refuses Python drivers in cluster mode",
        ),
    ],
)
def test_a_target_that_cannot_defer_is_refused_for_good(monkeypatch, connection: dict, message: str) -> None:
    import json

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_CANNOT_DEFER", json.dumps({"conn_type": "spark", **connection}))
    engine = SparkEngine(
        target=SparkTarget(connection["host"], conn_id="spark_cannot_defer"), settings=SparkEngineSettings(), run_id="r"
    )
    with pytest.raises(PermanentJobError, match=message):
        engine.detached_tracker()
    connect = SparkEngine(target=SparkTarget("sc://127.0.0.1:15002"), settings=SparkEngineSettings(), run_id="r")
    with pytest.raises(PermanentJobError, match="Spark Connect, whose jobs run in the task"):
        connect.detached_tracker()
