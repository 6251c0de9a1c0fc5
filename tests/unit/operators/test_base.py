"""Tests for operators/base.py without running a task: parse-time arguments, templates, and retry decisions."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from botocore.exceptions import EndpointConnectionError

from airflow_provider_enterprise.config import RetryPolicySettings
from airflow_provider_enterprise.operators.base import EnterpriseJobOperator, RunningAttempt
from airflow_provider_enterprise.resilience.circuit_breaker import Permit
from airflow_provider_enterprise.resilience.dead_letter import REPLAY_CONF_KEY
from airflow_provider_enterprise.resilience.errors import ErrorKind
from airflow_provider_enterprise.resilience.retry import NamedRetryPolicy
from airflow_provider_enterprise.security.redaction import redact


class JobOperator(EnterpriseJobOperator):
    """The smallest job operator: only the base class's behaviour, ``job_data`` templated."""

    template_fields: Sequence[str] = ("job_data",)


def build(**overrides) -> JobOperator:
    return JobOperator(**{"task_id": "job", "job_name": "daily", "job_type": "etl", **overrides})


def test_a_bad_circuit_action_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"on_circuit_open must be one of 'fail_fast', 'defer', got 'wait'"):
        build(on_circuit_open="wait")
    assert build(on_circuit_open="defer").on_circuit_open == "defer"


@pytest.mark.parametrize(("priority", "weight"), [("low", 1), ("normal", 5), ("high", 10), ("critical", 50)])
def test_priority_sets_the_weight_unless_given(priority: str, weight: int) -> None:
    assert build(priority=priority).priority_weight == weight
    assert build(priority=priority, priority_weight=7).priority_weight == 7


def test_retries_come_from_the_named_policy_unless_chosen_directly() -> None:
    default = build()
    assert isinstance(default.retry_policy, NamedRetryPolicy)
    assert (default.retry_policy.name, default.retries) == ("default", 2)
    network = build(retry_policy_name="network_error")
    assert (network.retry_policy.name, network.retries) == ("network_error", 4)
    assert network.retry_delay.total_seconds() == 2
    direct = build(retries=7)
    assert direct.retries == 7
    assert not isinstance(direct.retry_policy, NamedRetryPolicy)
    assert build(default_args={"retries": 1}).retries == 1
    # a named policy wins over retries given beside it
    assert build(retries=7, retry_policy_name="temporary_failure").retries == 1


def test_placement_engine_is_spark_only_for_jobs_always_on_spark() -> None:
    assert EnterpriseJobOperator.placement_engine("spark") == "spark"
    for engine in ("local", "auto", "{{ params.engine }}", None):
        assert EnterpriseJobOperator.placement_engine(engine) == "local"


def test_a_running_attempt_survives_the_trip_through_a_trigger() -> None:
    attempt = RunningAttempt(
        job_id=3,
        attempt_id=9,
        try_number=2,
        engine="spark",
        started_at=1.5,
        replay={"dead_letter_id": 4},
        permits=(Permit("hive", 2), Permit("storage:s3", 1, probe_token="p")),
    )
    data = attempt.to_dict()
    assert data["permits"] == [
        {"name": "hive", "generation": 2, "probe_token": None},
        {"name": "storage:s3", "generation": 1, "probe_token": "p"},
    ]
    assert RunningAttempt.from_dict(data) == attempt
    assert RunningAttempt.from_dict({"job_id": 1, "attempt_id": 2, "try_number": 1}).permits == ()


def context_for(conf: dict | None, task_id: str = "job", map_index: int = -1) -> dict:
    return {"ti": SimpleNamespace(task_id=task_id, map_index=map_index), "dag_run": SimpleNamespace(conf=conf)}


def test_replay_of_picks_this_tasks_replay_from_the_conf() -> None:
    replay = {"dead_letter_id": 4, "task_id": "job", "map_index": 2}
    operator = build()
    assert operator.replay_of(context_for({REPLAY_CONF_KEY: replay}, map_index=2)) == replay
    assert operator.replay_of(context_for({REPLAY_CONF_KEY: replay}, map_index=1)) is None
    assert operator.replay_of(context_for({REPLAY_CONF_KEY: replay}, task_id="other", map_index=2)) is None
    assert operator.replay_of(context_for({REPLAY_CONF_KEY: {"dead_letter_id": 5, "task_id": "job"}})) is not None
    assert operator.replay_of(context_for(None)) is None


def test_rendering_registers_job_data_secrets_with_the_masker() -> None:
    operator = build(job_data={"api_token": "{{ params.token }}", "day": "{{ params.day }}"})
    operator.render_template_fields({"params": {"token": "tok-9f31c-unit", "day": "2026-01-01"}})
    assert operator.job_data == {"api_token": "tok-9f31c-unit", "day": "2026-01-01"}
    operator.raise_render_error()  # nothing to raise
    assert redact("request failed with tok-9f31c-unit") == "request failed with ***"


def test_a_render_error_is_kept_for_the_attempt_then_raised() -> None:
    operator = build(job_data={"day": "{{ missing.day }}"})
    operator.render_template_fields({"params": {}})  # does not raise: the attempt must exist first
    with pytest.raises(Exception, match="'missing' is undefined"):
        operator.raise_render_error()


def test_breakers_count_the_failures_of_their_own_resource() -> None:
    operator = build(circuit_breaker="hive")
    storage_error = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    assert operator._resource_failed(Permit("hive", 1), ConnectionRefusedError())
    assert operator._resource_failed(Permit("hive", 1), storage_error)
    assert operator._resource_failed(Permit("storage:s3_default", 1), storage_error)
    assert not operator._resource_failed(Permit("storage:s3_default", 1), ConnectionRefusedError())
    assert operator._resource_failed(Permit("spark:master", 1), ConnectionRefusedError())
    assert not operator._resource_failed(Permit("spark:master", 1), storage_error)


def test_the_named_policy_may_move_an_error_class() -> None:
    settings = RetryPolicySettings(max_attempts=3, initial_delay=1, max_delay=2, transient_errors=("KeyError",))
    operator = build(retries=3, retry_policy=NamedRetryPolicy("custom", settings, jitter=lambda: 0.0))
    assert operator.error_kind(KeyError("x")) is ErrorKind.TRANSIENT
    assert build(retries=3).error_kind(KeyError("x")) is ErrorKind.PERMANENT


def test_failure_outcomes_say_why() -> None:
    ti = SimpleNamespace(try_number=1, max_tries=2)
    plain = build(retries=2)
    error = ConnectionRefusedError()
    assert plain._failure_outcome(ValueError(), ErrorKind.PERMANENT, ti) == (True, "ValueError is permanent: no retry")
    assert plain._failure_outcome(error, ErrorKind.TRANSIENT, ti) == (False, "Airflow retries (try 2 of 3)")
    last = SimpleNamespace(try_number=3, max_tries=2)
    assert plain._failure_outcome(error, ErrorKind.TRANSIENT, last) == (True, "retries exhausted (2 allowed)")
    named = build(retry_policy_name="temporary_failure")  # 2 attempts
    final, reason = named._failure_outcome(error, ErrorKind.TRANSIENT, ti)
    assert not final
    assert "policy 'temporary_failure' retries attempt 2" in reason
    # a new error: the policy answers the same error object with the same decision
    final, reason = named._failure_outcome(
        TimeoutError(), ErrorKind.TRANSIENT, SimpleNamespace(try_number=2, max_tries=1)
    )
    assert final
    assert "allows 2 attempts, all used" in reason
