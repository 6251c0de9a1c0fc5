"""
Tests for engines/spark_runs.py with real processes standing in for local drivers (a ``sleep`` in a process
group of its own), and the Connect session naming. Spark itself: tests/integration/spark/test_one_run_per_try.py.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from airflow_provider_enterprise.engines import spark_runs
from airflow_provider_enterprise.engines.spark_runs import LocalDriver


@pytest.fixture
def run_id() -> Iterator[str]:
    run = f"unit-{uuid.uuid4().hex[:8]}"
    yield run
    spark_runs.forget_driver(run)


def driver_process(seconds: float) -> subprocess.Popen:
    """A stand-in driver: the leader of a process group of its own, as the engine starts spark-submit."""
    return subprocess.Popen(["sleep", str(seconds)], start_new_session=True)


def test_a_recorded_driver_is_found_while_it_runs(run_id: str) -> None:
    process = driver_process(30)
    try:
        spark_runs.record_driver(run_id, process.pid)
        driver = spark_runs.running_driver(run_id)
        assert driver is not None and driver.pid == process.pid and driver.alive()
        assert (spark_runs.DRIVERS.stat().st_mode & 0o777) == 0o700  # this user's only
        assert driver.wait(deadline=time.time() + 0.2, poll_interval=0.05) is False  # still running at the deadline
        driver.stop()
        process.wait(5)
        assert not driver.alive()
    finally:
        process.kill()
        process.wait()
    assert spark_runs.running_driver(run_id) is None
    assert not (spark_runs.DRIVERS / f"{run_id}.json").exists()  # the stale record is removed


def test_an_ended_driver_is_not_running_even_before_it_is_reaped(run_id: str) -> None:
    process = driver_process(0.05)
    spark_runs.record_driver(run_id, process.pid)
    time.sleep(0.3)  # it ended; nobody has waited for it yet (a zombie, as under an init that reaps late)
    try:
        assert spark_runs.running_driver(run_id) is None
    finally:
        process.wait()


def test_a_reused_pid_is_not_the_driver(run_id: str) -> None:
    process = driver_process(30)
    try:
        spark_runs.record_driver(run_id, process.pid)
        record = spark_runs.DRIVERS / f"{run_id}.json"
        record.write_text(record.read_text().replace('"start_ticks": ', '"start_ticks": 1'))  # another start time
        assert spark_runs.running_driver(run_id) is None
        assert LocalDriver(run_id, process.pid, 1).alive() is False
    finally:
        process.kill()
        process.wait()


def test_an_ended_process_is_not_recorded_and_a_missing_record_is_none(run_id: str) -> None:
    process = driver_process(0)
    process.wait()
    spark_runs.record_driver(run_id, process.pid)
    assert not (spark_runs.DRIVERS / f"{run_id}.json").exists()
    assert spark_runs.running_driver(run_id) is None


def test_a_connect_session_is_named_by_the_run() -> None:
    first = spark_runs.session_id("enterprise-1-1-a")
    assert first == spark_runs.session_id("enterprise-1-1-a") != spark_runs.session_id("enterprise-1-2-a")
    assert str(uuid.UUID(first)) == first
    url = spark_runs.with_session("sc://spark:15002/;token=abc;session_id=old", "enterprise-1-1-a")
    assert url == f"sc://spark:15002/;token=abc;session_id={first}"
    assert spark_runs.with_session("sc://spark:15002", "enterprise-1-1-a") == f"sc://spark:15002/;session_id={first}"


def test_connect_mode_does_not_outlive_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARK_CONNECT_MODE_ENABLED", raising=False)
    with spark_runs.connect_mode_contained():
        os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"  # as pyspark sets it for a remote session
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    with spark_runs.connect_mode_contained():
        pass
    assert os.environ["SPARK_CONNECT_MODE_ENABLED"] == "1"  # set before: left alone
