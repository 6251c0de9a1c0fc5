"""
Tests for sensors/base.py through its smallest sensor, without a registry: the waits a sensor may be built with,
starting from the trigger, and how it resumes with the trigger's event. Poking the registry:
tests/integration/sensors/test_job.py.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from airflow_provider_enterprise.sensors.circuit import CircuitClosedSensor
from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor
from airflow_provider_enterprise.triggers.circuit import CircuitEvent


def sensor(**kwargs) -> CircuitClosedSensor:
    return CircuitClosedSensor(**{"task_id": "wait", "name": "spark:spark_default", **kwargs})


@pytest.mark.parametrize("flag", ["start_from_trigger", "end_from_trigger"])
def test_waiting_in_the_triggerer_needs_deferrable(flag: str) -> None:
    with pytest.raises(ValueError, match="start_from_trigger and end_from_trigger wait in the triggerer"):
        sensor(**{flag: True})


def test_starting_from_the_trigger_hands_the_scheduler_its_trigger() -> None:
    started = sensor(deferrable=True, start_from_trigger=True, timeout=120, poke_interval=7)
    args = started.start_trigger_args
    assert args.trigger_cls.endswith(".CircuitClosedTrigger")
    assert args.trigger_kwargs["name"] == "spark:spark_default"
    assert args.trigger_kwargs["poll_interval"] == 7
    assert (args.next_method, args.timeout.total_seconds()) == ("execute_complete", 120)
    assert sensor(deferrable=True).start_trigger_args is None  # deferred from the worker instead


def test_starting_from_the_trigger_refuses_values_the_triggerer_would_not_render() -> None:
    # the breaker's name is a field of its trigger too: the triggerer renders it
    templated = sensor(deferrable=True, start_from_trigger=True, name="{{ params.breaker }}")
    assert templated.start_trigger_args.trigger_kwargs["name"] == "{{ params.breaker }}"
    # the watched job's key is not (the trigger takes it as one list): it must be literal
    watch = {"task_id": "wait", "dag_id": "daily", "task_id_to_watch": "process", "deferrable": True}
    with pytest.raises(ValueError, match="start_from_trigger=True needs literal run_id: the triggerer does not"):
        EnterpriseJobSensor(**watch, run_id="{{ run_id }}", start_from_trigger=True)
    assert EnterpriseJobSensor(**watch, run_id="manual__1", start_from_trigger=True).start_trigger_args


def test_ending_in_the_triggerer_passes_soft_fail_on() -> None:
    ending = sensor(deferrable=True, end_from_trigger=True, soft_fail=True)
    common = ending._trigger_common(deadline=None)
    assert (common["end_from_trigger"], common["soft_fail"]) == (True, True)
    assert "end_from_trigger" not in sensor(deferrable=True)._trigger_common(deadline=None)


def payload(status: str, state: str | None) -> dict:
    return CircuitEvent(status=status, state=state).to_payload()


def test_resuming_with_the_triggers_event() -> None:
    assert sensor().execute_complete({}, payload("admits", "closed")) is None
    with pytest.raises(AirflowException, match=r"circuit 'spark:spark_default' still open after 60.0 s"):
        sensor(timeout=60).execute_complete({}, payload("timeout", "open"))
    with pytest.raises(AirflowSkipException, match="still unknown after 60.0 s"):
        sensor(timeout=60, soft_fail=True).execute_complete({}, payload("timeout", None))
