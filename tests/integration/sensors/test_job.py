"""EnterpriseJobSensor deferred to its trigger through real Airflow (dag.test runs triggers in-process)."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor
from support.env import load_test_dags

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sensing(airflow_db: str, registry_url: str):
    return load_test_dags().sensing


def test_deferred_sensors_wake_when_the_job_succeeds_and_the_circuit_closes(sensing, registry) -> None:
    job_id = registry.register_job(JobKey("sensor_target", "target_run", "process"), job_name="t", job_type="t")
    attempt = registry.start_attempt(job_id, 1)
    breaker = CircuitBreaker(registry, "test:sensor")
    for _ in range(breaker.settings.failure_threshold):
        breaker.record_failure(breaker.acquire())
    assert breaker.status()["state"] == "open"

    def recover() -> None:
        registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/o")
        breaker.reset()

    timer = threading.Timer(2.0, recover)
    timer.start()
    dag_run = sensing.test(run_conf={"run_id": "target_run"})
    timer.join()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"wait": "success", "wait_soft": "skipped", "wait_circuit": "success"}


def test_sensor_refuses_unknown_states() -> None:
    with pytest.raises(ValueError, match="unknown job states \\['done'\\]"):
        EnterpriseJobSensor(task_id="s", dag_id="d", run_id="r", task_id_to_watch="t", target_states=["done"])


def test_poke_reads_dead_lettered(registry) -> None:
    from airflow.sdk.exceptions import AirflowException

    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

    job_id = registry.register_job(JobKey("sensor_target", "dead_run", "process"), job_name="t", job_type="t")
    attempt = registry.start_attempt(job_id, 1)
    registry.fail_attempt(attempt.attempt_id, RuntimeError("x"))
    sensor = EnterpriseJobSensor(task_id="s", dag_id="sensor_target", run_id="dead_run", task_id_to_watch="process")
    assert sensor.poke({}) is False  # failed, but not yet dead-lettered
    DeadLetterQueue(registry).add(attempt.attempt_id, RuntimeError("x"))
    with pytest.raises(AirflowException, match="is dead_lettered"):
        sensor.poke({})
