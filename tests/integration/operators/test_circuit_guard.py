"""Jobs guarded by a circuit breaker through real Airflow: fail fast, or defer until it admits calls."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from support.env import EXAMPLE_DAGS, load_test_dags

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


def open_breaker(registry, name: str) -> CircuitBreaker:
    breaker = CircuitBreaker(registry, name)
    for _ in range(breaker.settings.failure_threshold):
        breaker.record_failure(breaker.acquire())
    assert breaker.status()["state"] == "open"
    return breaker


def test_open_breaker_fails_fast_or_defers_until_reset(airflow_db, registry, tmp_path: Path) -> None:
    guarded = load_test_dags().guarded
    open_breaker(registry, "test:storage_fail_fast")
    deferring = open_breaker(registry, "test:storage_defer")
    timer = threading.Timer(3.0, deferring.reset)
    timer.start()
    dag_run = guarded.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path)})
    timer.join()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"process_fail_fast": "failed", "process_defer": "success"}

    fast = registry.find_job(JobKey("test_processing_circuit", dag_run.run_id, "process_fail_fast"))
    (attempt,) = fast["attempts"]
    assert attempt["error_class"] == "CircuitOpenError"
    assert "circuit 'test:storage_fail_fast' is open" in attempt["error_message"]
    assert not (tmp_path / "fail_fast").exists()  # the engine never ran

    deferred = registry.find_job(JobKey("test_processing_circuit", dag_run.run_id, "process_defer"))
    assert [a["status"] for a in deferred["attempts"]] == ["succeeded"]
    assert (tmp_path / "defer" / "_SUCCESS").exists()
    assert deferring.status()["total_successes"] == 1


def test_transient_job_failures_count_against_the_breaker(airflow_db, registry, tmp_path: Path) -> None:
    guarded = load_test_dags().guarded
    bad = tmp_path / "bad.csv"
    bad.write_text("category,price\nbooks,1\n")
    breaker = CircuitBreaker(registry, "test:storage_fail_fast")
    breaker.reset()
    dag_run = guarded.test(run_conf={"input_path": str(bad), "output_path": str(tmp_path)})
    assert dag_run.state == "failed"
    assert breaker.status()["consecutive_failures"] == 1
