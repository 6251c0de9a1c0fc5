from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from airflow_provider_enterprise.config import DEFAULT_RETRY_POLICIES, InvalidSettings, load_settings
from airflow_provider_enterprise.exceptions import InputNotFoundError, JobTimeoutError
from airflow_provider_enterprise.resilience.retry import (
    ErrorKind,
    NamedRetryPolicy,
    classify_error,
    retry_policy_args,
)
from airflow_provider_enterprise.spec import InvalidJobSpec


@pytest.mark.parametrize(
    ("name", "attempts", "initial", "maximum"),
    [
        ("default", 3, 1, 60),
        ("network_error", 5, 2, 120),
        ("resource_exhausted", 3, 30, 300),
        ("temporary_failure", 2, 5, 30),
        ("critical_job", 5, 1, 30),
    ],
)
def test_seed_policies(name: str, attempts: int, initial: float, maximum: float) -> None:
    policy = DEFAULT_RETRY_POLICIES[name]
    assert (policy.max_attempts, policy.initial_delay, policy.max_delay) == (attempts, initial, maximum)
    assert retry_policy_args(name, load_settings({}, use_airflow=False))["retries"] == attempts - 1


def test_delay_is_exponential_capped_and_jittered_into_half_open_interval() -> None:
    low = NamedRetryPolicy("network_error", DEFAULT_RETRY_POLICIES["network_error"], jitter=lambda: 0.0)
    high = NamedRetryPolicy("network_error", DEFAULT_RETRY_POLICIES["network_error"], jitter=lambda: 0.999999)
    assert [low.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 32, 60]
    assert [round(high.delay(n), 3) for n in range(1, 8)] == [2, 4, 8, 16, 32, 64, 120]


def test_decisions() -> None:
    policy = NamedRetryPolicy("default", DEFAULT_RETRY_POLICIES["default"], jitter=lambda: 0.5)
    retry = policy.decide(ConnectionRefusedError("spark master refused"), 1)
    assert retry.action is RetryAction.RETRY
    assert retry.retry_delay == timedelta(seconds=0.75)
    assert "ConnectionRefusedError is transient" in retry.reason
    assert policy.decide(JobTimeoutError("slow"), 2).action is RetryAction.RETRY
    exhausted = policy.decide(TimeoutError("again"), 3)
    assert (exhausted.action, exhausted.reason) == (
        RetryAction.FAIL,
        "TimeoutError is transient; policy 'default' allows 3 attempts, all used",
    )
    for permanent in (InputNotFoundError("x"), InvalidJobSpec("y"), PermissionError("z")):
        assert policy.decide(permanent, 1).action is RetryAction.FAIL
        assert classify_error(permanent) is ErrorKind.PERMANENT


def test_the_same_exception_gets_the_same_decision() -> None:
    policy = NamedRetryPolicy("default", DEFAULT_RETRY_POLICIES["default"])
    error = ConnectionError("x")
    assert policy.decide(error, 1) is policy.evaluate(error, 1, 2)


def test_configured_policies_override_and_unknown_names_are_named(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("retry_policies:\n  default: {max_attempts: 7, initial_delay: 1, max_delay: 2}\n")
    settings = load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    assert retry_policy_args("default", settings)["retries"] == 6
    with pytest.raises(InvalidSettings, match="unknown retry policy 'nope'; known: critical_job, default"):
        retry_policy_args("nope", settings)
