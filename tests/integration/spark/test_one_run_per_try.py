"""
One Spark application per job try where no master lists applications: a local master's driver left behind by a
killed task, and an earlier try's Spark Connect operations (engines/spark_runs.py). The standalone case is in
test_spark_engine.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.engines import spark_runs
from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
from airflow_provider_enterprise.output.commit import is_committed
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import EXAMPLE_DAGS, load_test_dags

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"

#: A task process running the Spark engine on a local master (killed by the test once its driver started).
TASK = """
import sys
from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
from airflow_provider_enterprise.spec import JobSpec

spec = JobSpec.model_validate_json(open(sys.argv[1]).read())
SparkEngine(target=SparkTarget("local[1]"), settings=load_settings().engines.spark, run_id=sys.argv[2]).run(spec)
"""

#: A try's Spark Connect operation, tagged with its run id in its run's session, that runs until interrupted.
CONNECT_TRY = """
import sys
from pyspark.sql import SparkSession
from airflow_provider_enterprise.engines import spark_runs

master, run_id = sys.argv[1], sys.argv[2]
session = SparkSession.builder.remote(spark_runs.with_session(master, run_id)).create()
session.addTag(run_id)
print("started", flush=True)
try:
    session.range(0, 10**13).selectExpr("sum(id * id % 7)").collect()
    print("finished", flush=True)
except Exception as err:
    print("stopped:", type(err).__name__, str(err)[:300], flush=True)
"""


def spec_for(tmp_path: Path):
    return validate_job_spec(
        {
            "job_name": "one_run_per_try",
            "input_path": str(SAMPLE),
            "output_path": str(tmp_path / "out"),
            "spark_resources": load_test_dags().SPARK_TEST_RESOURCES,
        }
    )


def wait_for(condition, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: {log.read_text()[-3000:] if log else ''}"
        time.sleep(0.2)


def test_a_retry_waits_for_the_driver_a_killed_task_left_and_reuses_its_output(tmp_path: Path) -> None:
    spec = spec_for(tmp_path)
    (tmp_path / "spec.json").write_text(spec.model_dump_json(by_alias=True))
    first, retry = "enterprise-11-1-killed", "enterprise-11-2-retry"
    log = tmp_path / "task.log"
    task = subprocess.Popen(
        [sys.executable, "-c", TASK, str(tmp_path / "spec.json"), first],
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: spark_runs.running_driver(first) is not None, 60, "the first try's driver", log)
        os.kill(task.pid, signal.SIGKILL)  # the task dies; its driver, in a process group of its own, goes on
        task.wait(10)
        driver = spark_runs.running_driver(first)
        assert driver is not None and not is_committed(tmp_path / "out")
        submitted: list[str] = []
        engine = SparkEngine(
            target=SparkTarget("local[1]"),
            settings=load_settings().engines.spark,
            run_id=retry,
            previous_run_ids=[first],
            on_submitted=submitted.append,
            poll_interval=0.5,
        )
        result = engine.run(spec)
    finally:
        task.kill()
        if (left := spark_runs.running_driver(first)) is not None:
            left.stop()
    # the retry submitted nothing: it waited for the first try's driver and published its output
    assert (result.external_id, result.rows_in, submitted) == (first, 10_000, [])
    assert is_committed(tmp_path / "out") and not driver.alive()
    assert spark_runs.running_driver(first) is None


def test_a_retry_interrupts_the_connect_operations_of_an_earlier_try(spark_cluster, tmp_path: Path) -> None:
    first, retry = "enterprise-12-1-stuck", "enterprise-12-2-retry"
    log = tmp_path / "try.log"
    earlier = subprocess.Popen(
        [sys.executable, "-c", CONNECT_TRY, spark_cluster.connect_url, first],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: "started" in log.read_text(), 60, "the earlier try's operation", log)
        time.sleep(2)  # the query is on the server
        engine = SparkEngine(
            target=SparkTarget(spark_cluster.connect_url),
            settings=load_settings().engines.spark,
            run_id=retry,
            previous_run_ids=[first],
        )
        result = engine.run(spec_for(tmp_path))
        earlier.wait(60)
    finally:
        earlier.kill()
    assert result.external_id == retry and result.rows_in == 10_000
    assert "stopped:" in log.read_text() and "finished" not in log.read_text(), log.read_text()[-2000:]
    # a try that ended released its session: interrupting it again finds nothing, and fails nothing
    assert spark_runs.interrupt_run(spark_cluster.connect_url, retry) == []
    # pyspark's process-wide Connect switch is undone: classic sessions (and spark-submits) of this process stay classic
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ


def test_connect_urls_name_the_runs_session() -> None:
    url = spark_runs.with_session("sc://spark:15002/;token=abc;session_id=old", "enterprise-1-1-x")
    assert url == f"sc://spark:15002/;token=abc;session_id={spark_runs.session_id('enterprise-1-1-x')}"
    assert spark_runs.with_session("sc://spark:15002", "r").startswith("sc://spark:15002/;session_id=")
    assert spark_runs.session_id("r") == spark_runs.session_id("r") != spark_runs.session_id("s")
