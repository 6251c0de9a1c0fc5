"""EnterpriseJobSensor deferred to its trigger through real Airflow (dag.test runs triggers in-process)."""

from __future__ import annotations

import threading

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor
from support.env import load_test_dags
from support.triggers import first_event

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


def test_start_from_trigger_hands_the_scheduler_the_same_trigger(registry_url) -> None:
    from datetime import timedelta

    sensor = EnterpriseJobSensor(
        task_id="wait_direct",
        dag_id="target",
        run_id="run_1",
        task_id_to_watch="process",
        deferrable=True,
        start_from_trigger=True,
        end_from_trigger=True,
        poke_interval=3,
        timeout=600,
    )
    args = sensor.start_trigger_args
    assert (
        sensor.start_from_trigger
        and args.trigger_cls == "airflow_provider_enterprise.triggers.job.EnterpriseJobTrigger"
    )
    assert args.trigger_kwargs["job_key"] == ["target", "run_1", "process", -1]
    assert (args.trigger_kwargs["poll_interval"], args.trigger_kwargs["end_from_trigger"]) == (3, True)
    assert args.next_method == "execute_complete" and args.timeout == timedelta(seconds=600)
    assert EnterpriseJobSensor.start_trigger_args is None  # the class attribute stays untouched


def test_start_from_trigger_refuses_what_the_triggerer_would_not_render() -> None:
    from airflow_provider_enterprise.sensors.circuit import CircuitClosedSensor

    common = {"dag_id": "target", "task_id_to_watch": "process", "deferrable": True, "start_from_trigger": True}
    with pytest.raises(ValueError, match="start_from_trigger=True needs literal run_id"):
        EnterpriseJobSensor(task_id="templated", run_id="{{ run_id }}", **common)
    with pytest.raises(ValueError, match="set deferrable=True"):
        EnterpriseJobSensor(task_id="sync", run_id="r", **{**common, "deferrable": False})
    # a breaker's name is a field of both the sensor and its trigger: the triggerer renders it
    sensor = CircuitClosedSensor(
        task_id="circuit", name="{{ params.breaker }}", deferrable=True, start_from_trigger=True
    )
    assert sensor.start_trigger_args.trigger_kwargs["name"] == "{{ params.breaker }}"


def test_end_from_trigger_ends_the_task_in_the_triggerer(registry) -> None:
    from airflow.triggers.base import TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

    from airflow_provider_enterprise.triggers.job import EnterpriseJobTrigger

    key = JobKey("end_target", "run_1", "process")
    attempt = registry.start_attempt(registry.register_job(key, job_name="t", job_type="t"), 1)
    registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/o")

    def trigger(target, failure, *, deadline=None, **ends):
        return EnterpriseJobTrigger(
            job_key=list(vars(key).values()),
            target_states=[target],
            failure_states=[failure],
            deadline=deadline,
            poll_interval=0.1,
            **ends,
        )

    assert isinstance(first_event(trigger("succeeded", "dead_lettered", end_from_trigger=True)), TaskSuccessEvent)
    assert isinstance(first_event(trigger("failed", "succeeded", end_from_trigger=True)), TaskFailedEvent)
    late = {"deadline": 0.0, "end_from_trigger": True}  # the job never reaches "running" again: a timeout
    assert isinstance(first_event(trigger("running", "failed", **late, soft_fail=True)), TaskSkippedEvent)
    assert isinstance(first_event(trigger("running", "failed", **late)), TaskFailedEvent)
    plain = first_event(trigger("succeeded", "failed"))  # without end_from_trigger the task resumes with the payload
    assert type(plain) is TriggerEvent and plain.payload == {"status": "reached", "state": "succeeded"}
