"""Jobs guarded by a circuit breaker through real Airflow: fail fast, or defer until it admits calls."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from support.env import CORRUPT_PARQUET, EXAMPLE_DAGS, load_test_dags

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
    open_breaker(registry, "test:spark_fallback")
    deferring = open_breaker(registry, "test:storage_defer")
    timer = threading.Timer(3.0, deferring.reset)
    timer.start()
    dag_run = guarded.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path)})
    timer.join()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"process_fail_fast": "failed", "process_defer": "success", "process_fallback": "success"}

    fast = registry.find_job(JobKey("test_processing_circuit", dag_run.run_id, "process_fail_fast"))
    (attempt,) = fast["attempts"]
    assert attempt["error_class"] == "CircuitOpenError"
    assert "circuit 'test:storage_fail_fast' is open" in attempt["error_message"]
    assert not (tmp_path / "fail_fast").exists()  # the engine never ran

    deferred = registry.find_job(JobKey("test_processing_circuit", dag_run.run_id, "process_defer"))
    assert [a["status"] for a in deferred["attempts"]] == ["succeeded"]
    assert (tmp_path / "defer" / "_SUCCESS").exists()
    assert deferring.status()["total_successes"] == 1

    fell_back = registry.find_job(JobKey("test_processing_circuit", dag_run.run_id, "process_fallback"))
    (attempt,) = fell_back["attempts"]
    assert (attempt["engine"], attempt["status"]) == ("local", "succeeded")
    assert (tmp_path / "fallback" / "_SUCCESS").exists()


def test_fallback_needs_permission_and_another_engine() -> None:
    from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

    base = {"task_id": "t", "job_name": "j", "input_path": "/i.csv", "output_path": "/o", "circuit_breaker": "b"}
    with pytest.raises(ValueError, match="needs allow_fallback=True"):
        EnterpriseDataProcessingOperator(**base, execution_engine="spark", on_circuit_open="fallback")
    with pytest.raises(ValueError, match="already runs there"):
        EnterpriseDataProcessingOperator(
            **base, execution_engine="local", on_circuit_open="fallback", allow_fallback=True
        )


def test_bad_data_does_not_count_against_the_breaker(airflow_db, registry, tmp_path: Path) -> None:
    """A corrupt input is permanent: it fails its job, not the resource (transient failures count: test_errors)."""
    guarded = load_test_dags().guarded
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(CORRUPT_PARQUET)
    breaker = CircuitBreaker(registry, "test:storage_fail_fast")
    breaker.reset()
    failures = breaker.status()["total_failures"]
    dag_run = guarded.test(run_conf={"input_path": str(bad), "output_path": str(tmp_path)})
    assert dag_run.get_task_instance("process_fail_fast").state == "failed"
    assert (breaker.status()["consecutive_failures"], breaker.status()["total_failures"]) == (0, failures)


def test_the_spark_connection_s_breaker_sends_auto_jobs_local_and_fails_spark_jobs_fast(
    dags, registry, tmp_path: Path, monkeypatch
) -> None:
    """``spark:<conn_id>`` guards every Spark job by default: open, nothing is submitted (no Spark runs here)."""
    monkeypatch.setenv("SPARK_MASTER_URL", "local[1]")  # no connection spark_default: the settings' master
    breaker = open_breaker(registry, "spark:spark_default")
    try:
        conf = {"input_path": str(SAMPLE), "output_path": str(tmp_path / "spark")}
        dag_run = dags.spark_engine.test(run_conf=conf)
        assert dag_run.state == "failed"
        (attempt,) = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
        assert attempt["error_class"] == "CircuitOpenError"
        assert "circuit 'spark:spark_default' is open" in attempt["error_message"]
        assert not (tmp_path / "spark").exists()

        conf = {"input_path": str(SAMPLE), "output_path": str(tmp_path / "auto")}
        dag_run = dags.auto_engine.test(run_conf=conf)
        assert dag_run.state == "success"
        (attempt,) = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))["attempts"]
        assert attempt["engine"] == "local"
        assert "spark:spark_default" in attempt["routing"]["reason"]
        assert (tmp_path / "auto" / "_SUCCESS").exists()
    finally:
        breaker.reset()
