"""
The Spark engine on real Spark: spark-submit in local mode and to a standalone master (client deploy), and Spark
Connect; through the operator (``dag.test()``) its output equals the local engine's. A retry re-attaches to the
application of an earlier attempt instead of submitting a second one; a timeout stops the application.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.engines.spark import APPLICATION, SparkEngine, SparkTarget
from airflow_provider_enterprise.exceptions import JobTimeoutError
from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.output.commit import is_committed
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import BIN, EXAMPLE_DAGS, load_test_dags
from support.spark_cluster import HOST

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


def rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet') ORDER BY ALL").fetchall()


def local_rows(dags, tmp_path: Path) -> list[tuple]:
    """The local engine's output for the test DAGs' spec."""
    task = dags.spark_engine.get_task("process")
    spec = validate_job_spec(
        {
            **task._spec_data(),
            "input_path": str(SAMPLE),
            "output_path": str(tmp_path / "local"),
            "execution_engine": "local",
        }
    )
    LocalEngine().run(spec)
    return rows(tmp_path / "local")


def run_dag(dag, registry, tmp_path: Path, monkeypatch, connection: dict) -> dict:
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection))
    out = tmp_path / "out"
    dag_run = dag.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))
    assert dag_run.state == "success", job and job["attempts"][-1]["error_message"]
    return job


def test_local_mode_through_the_operator(dags, registry, tmp_path: Path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO", "true")  # as the Spark provider reads it
    job = run_dag(dags.spark_engine, registry, tmp_path, monkeypatch, {"conn_type": "spark", "host": "local[2]"})
    (attempt,) = job["attempts"]
    assert (attempt["engine"], attempt["rows_in"], attempt["status"]) == ("spark", 10_000, "succeeded")
    assert attempt["external_id"].startswith(f"enterprise-{job['job_id']}-1-")
    assert rows(tmp_path / "out") == local_rows(dags, tmp_path)
    assert attempt["rows_out"] == len(rows(tmp_path / "out"))
    # the task's OpenLineage run is the application's parent (spark-submit's logged command), not in the spec
    assert f"spark.openlineage.parentJobName={dags.spark_engine.dag_id}.process" in capfd.readouterr().out
    assert "openlineage" not in json.dumps(attempt["spec"])
    # the columns the application planned against, for the lineage of the COMPLETE event
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert [name for name, _ in manifest["input_columns"]["input"]][:3] == [
        "transaction_id",
        "event_time",
        "customer_id",
    ]


def test_standalone_client_mode_through_the_operator(
    dags, registry, spark_cluster, tmp_path: Path, monkeypatch
) -> None:
    connection = {
        "conn_type": "spark",
        "host": spark_cluster.master_url,
        "extra": {"deploy-mode": "client", "master-ui-url": spark_cluster.ui_url},
    }
    job = run_dag(dags.spark_engine, registry, tmp_path, monkeypatch, connection)
    (attempt,) = job["attempts"]
    assert rows(tmp_path / "out") == local_rows(dags, tmp_path)
    (app,) = [a for a in spark_cluster.applications() if a["name"] == attempt["external_id"]]
    assert app["state"] == "FINISHED"


def test_spark_connect_through_the_operator(dags, registry, spark_cluster, tmp_path: Path, monkeypatch) -> None:
    connection = {"conn_type": "spark_connect", "host": HOST, "port": spark_cluster.connect_port}
    job = run_dag(dags.spark_engine, registry, tmp_path, monkeypatch, connection)
    (attempt,) = job["attempts"]
    assert (attempt["engine"], attempt["status"], attempt["rows_in"]) == ("spark", "succeeded", 10_000)
    assert rows(tmp_path / "out") == local_rows(dags, tmp_path)


def test_auto_routes_a_small_input_to_the_local_engine(dags, registry, spark_cluster, tmp_path, monkeypatch) -> None:
    connection = {
        "conn_type": "spark",
        "host": spark_cluster.master_url,
        "extra": {"master-ui-url": spark_cluster.ui_url},
    }
    job = run_dag(dags.auto_engine, registry, tmp_path, monkeypatch, connection)
    (attempt,) = job["attempts"]
    assert attempt["engine"] == "local"
    routing = attempt["routing"]
    assert routing["engine"] == "local" and routing["spark_cores"] == spark_cluster.worker_cores - 1  # Connect holds 1
    assert routing["local_seconds"] < routing["spark_seconds"]
    assert "local vs" in routing["reason"]


def spec_for(tmp_path: Path, **fields):
    resources = load_test_dags().SPARK_TEST_RESOURCES
    return validate_job_spec(
        {
            "job_name": "engine",
            "input_path": str(SAMPLE),
            "output_path": str(tmp_path / "out"),
            "spark_resources": resources,
        }
        | fields
    )


def test_a_retry_reattaches_to_the_running_application_instead_of_submitting(spark_cluster, tmp_path: Path) -> None:
    spec = spec_for(tmp_path)
    (tmp_path / "spec.json").write_text(spec.model_dump_json(by_alias=True))
    # The first attempt's application, left running by a worker that died.
    orphan = subprocess.Popen(
        [str(BIN / "spark-submit"), "--master", spark_cluster.master_url, "--name", "enterprise-7-1-orphan"]
        + ["--conf", "spark.ui.enabled=false", "--executor-memory", "512m", "--driver-memory", "768m"]
        + [str(APPLICATION), "--spec", str(tmp_path / "spec.json"), "--run-id", "enterprise-7-1-orphan"],
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
        stdout=(tmp_path / "orphan.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "enterprise-7-1-orphan" not in [a["name"] for a in spark_cluster.master_json()["activeapps"]]:
            assert time.monotonic() < deadline and orphan.poll() is None, (tmp_path / "orphan.log").read_text()[-3000:]
            time.sleep(0.3)
        submitted = []
        engine = SparkEngine(
            target=SparkTarget(spark_cluster.master_url, ui_url=spark_cluster.ui_url),
            settings=load_settings().engines.spark,
            run_id="enterprise-7-2-retry",
            previous_run_ids=["enterprise-7-1-orphan"],
            on_submitted=submitted.append,
            poll_interval=0.5,
        )
        result = engine.run(spec)
    finally:
        orphan.wait(120)
    assert (result.external_id, result.rows_in, submitted) == ("enterprise-7-1-orphan", 10_000, [])
    names = [a["name"] for a in spark_cluster.applications()]
    assert names.count("enterprise-7-1-orphan") == 1 and "enterprise-7-2-retry" not in names
    assert is_committed(tmp_path / "out")


def test_a_committed_output_of_an_earlier_attempt_is_reused_without_spark(tmp_path: Path) -> None:
    from airflow_provider_enterprise.output.commit import staged_output, write_manifest

    spec = spec_for(tmp_path)
    manifest = {"run_id": "enterprise-3-1-done", "rows_in": 5, "rows_out": 2, "files": ["a.parquet"], "bad_rows": 0}
    with staged_output(spec.output_path) as staging:
        write_manifest(staging, manifest | {"bad_rows_path": None})
    engine = SparkEngine(
        target=SparkTarget("spark://127.0.0.1:1"),  # nothing listens: reuse must not reach Spark
        settings=load_settings().engines.spark,
        run_id="enterprise-3-2-new",
        previous_run_ids=["enterprise-3-1-done"],
    )
    result = engine.run(spec)
    assert (result.external_id, result.rows_in, result.rows_out) == ("enterprise-3-1-done", 5, 2)


def test_a_timeout_stops_the_connect_operation_and_commits_nothing(spark_cluster, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("w") as f:
        f.write(SAMPLE.read_text())
        body = SAMPLE.read_text().split("\n", 1)[1]
        for _ in range(150):  # 1.5M rows
            f.write(body)
    spec = spec_for(
        tmp_path,
        input_path=str(big),
        timeout=4,
        processing_logic={"transformations": [{"type": "sort", "by": ["amount", "customer_id"]}]},
    )
    engine = SparkEngine(
        target=SparkTarget(spark_cluster.connect_url),
        settings=load_settings().engines.spark,
        run_id="enterprise-9-1-slow",
    )
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match="exceeded its timeout of 4"):
        engine.run(spec)
    assert time.monotonic() - started < 60
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.staging")]


def test_doctor_reports_the_clusters_capacity(spark_cluster, monkeypatch, capsys, tmp_path: Path) -> None:
    from airflow_provider_enterprise.cli import main

    config = tmp_path / "config.yaml"
    config.write_text(f"engines:\n  spark:\n    master_ui_url: {spark_cluster.ui_url}\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    monkeypatch.setenv("SPARK_MASTER_URL", spark_cluster.master_url)
    main(["doctor"])
    out = capsys.readouterr().out
    assert f"spark: ok - master '{spark_cluster.master_url}' ALIVE: 1 workers" in out, out


def test_reading_the_masters_status_sends_its_utilization(spark_cluster, statsd_in_process) -> None:
    from airflow_provider_enterprise.clients.spark_status import SparkMasterStatusHook
    from support.statsd import load_rules, prometheus

    status = SparkMasterStatusHook(spark_cluster.ui_url).status()
    assert status.alive_workers == 1 and status.cores_used >= 1  # the Connect server holds a core
    time.sleep(0.3)
    (gauge,) = statsd_in_process.datagrams("airflow.enterprise.spark_cluster_utilization")
    assert gauge.kind == "g" and float(gauge.value) == round(status.cores_used / status.cores, 4) > 0
    assert set(gauge.tags) == {"master"} and str(spark_cluster.ui_url.rsplit(":", 1)[1]) in gauge.tags["master"]
    assert prometheus(gauge, load_rules())[0] == "spark_cluster_utilization"


def test_the_spark_pool_is_sized_from_the_masters_cores(spark_cluster, monkeypatch, tmp_path: Path) -> None:
    from airflow_provider_enterprise.ops import placement

    config = tmp_path / "config.yaml"
    config.write_text(f"engines:\n  spark:\n    executor_cores: 2\n    master_ui_url: {spark_cluster.ui_url}\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    monkeypatch.setenv("SPARK_MASTER_URL", spark_cluster.master_url)
    settings = load_settings()
    cores = placement.spark_cluster_cores(settings)
    assert cores == spark_cluster.worker_cores
    pool = placement.spark_pool(settings, cluster_cores=cores)
    assert (pool.name, pool.slots) == ("enterprise_spark", spark_cluster.worker_cores // 2)
    assert pool.basis == f"{cores} cluster cores / 2 cores per executor"
    monkeypatch.setenv("SPARK_MASTER_URL", f"spark://{HOST}:1")  # nothing answers there: the configured bound
    config.write_text("engines:\n  spark:\n    max_executors: 6\n    pool: spark_jobs\n")
    settings = load_settings()
    pool = placement.spark_pool(settings, cluster_cores=placement.spark_cluster_cores(settings))
    assert (pool.name, pool.slots) == ("spark_jobs", 6) and "cluster cores unknown" in pool.basis


def test_doctor_asks_the_spark_connect_server_of_the_connection(spark_cluster, monkeypatch, capsys) -> None:
    from airflow_provider_enterprise.cli import main

    host, port = spark_cluster.connect_url.removeprefix("sc://").split(":")
    conn = {"conn_type": "spark_connect", "host": host, "port": int(port)}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(conn))
    main(["doctor"])
    out = capsys.readouterr().out
    where = f"master '{spark_cluster.connect_url}' (connection 'spark_default')"
    assert f"spark: ok - {where}: Spark Connect server, " in out
    assert "Spark 4.3.0" in out, out
