from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from airflow_provider_enterprise.config import DEFAULT_RETRY_POLICIES, InvalidSettings, load_settings
from airflow_provider_enterprise.exceptions import InputNotFoundError, JobTimeoutError
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error
from airflow_provider_enterprise.resilience.retry import NamedRetryPolicy, retry_policy_args
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


def test_a_policy_decides_with_its_own_error_classes() -> None:
    import duckdb

    try:
        duckdb.sql("SELECT CAST('two' AS DOUBLE)").fetchall()
    except duckdb.ConversionException as err:
        conversion = err
    default = NamedRetryPolicy("default", DEFAULT_RETRY_POLICIES["default"])
    assert (
        default.decide(conversion, 1).reason == "ConversionException is permanent; policy 'default' does not retry it"
    )
    assert default.decide(RuntimeError("unknown"), 1).action is RetryAction.FAIL  # unknown errors are permanent
    lenient = NamedRetryPolicy(
        "lenient",
        DEFAULT_RETRY_POLICIES["default"].model_copy(update={"transient_errors": ("ConversionException",)}),
        jitter=lambda: 0.0,
    )
    assert lenient.decide(conversion, 1).action is RetryAction.RETRY
    assert lenient.classify(conversion) is ErrorKind.TRANSIENT


def test_error_classes_come_from_the_config_file(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "retry_policies:\n"
        "  in_place_upstream:\n"
        "    {max_attempts: 3, initial_delay: 1, max_delay: 2, transient_errors: [duckdb.InvalidInputException],"
        " permanent_errors: [JobTimeoutError]}\n"
        "  confused: {max_attempts: 3, initial_delay: 1, max_delay: 2, transient_errors: [X], permanent_errors: [X]}\n"
    )
    with pytest.raises(InvalidSettings, match="X cannot be both transient_errors and permanent_errors"):
        load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    config.write_text(config.read_text().rsplit("  confused", 1)[0])
    settings = load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    policy = NamedRetryPolicy("in_place_upstream", settings.retry_policy("in_place_upstream"))
    assert policy.classify(JobTimeoutError("slow")) is ErrorKind.PERMANENT
    assert policy.settings.transient_errors == ("duckdb.InvalidInputException",)
