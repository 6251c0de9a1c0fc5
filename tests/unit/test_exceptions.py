"""Tests for exceptions.py: the messages its constructors build, and which errors a retry may cure."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_enterprise import exceptions
from airflow_provider_enterprise.exceptions import (
    DataQualityError,
    EnterpriseError,
    JobTimeoutError,
    OutputConflictError,
    OutputNotOwnedError,
    PermanentJobError,
    SparkApplicationError,
)
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error

#: The provider's errors a retry may cure; every other one is permanent.
TRANSIENT = {SparkApplicationError, JobTimeoutError}

ERRORS = [c for _, c in inspect.getmembers(exceptions, inspect.isclass) if issubclass(c, EnterpriseError)]


@pytest.mark.parametrize("error_class", ERRORS, ids=lambda c: c.__name__)
def test_only_the_errors_a_retry_may_cure_are_transient(error_class: type[EnterpriseError]) -> None:
    expected = ErrorKind.TRANSIENT if error_class in TRANSIENT else ErrorKind.PERMANENT
    assert classify_error(error_class("message")) is expected
    assert not (issubclass(error_class, PermanentJobError) and error_class in TRANSIENT)


def test_an_output_of_strangers_names_the_first_three() -> None:
    error = OutputNotOwnedError.of("/data/out", ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv"])
    assert str(error).startswith(
        "output_path '/data/out' holds 5 file(s) no commit of a job wrote there ('a.csv', 'b.csv', 'c.csv' and 2 more)"
    )
    assert "never replaced" in str(error)
    one = OutputNotOwnedError.of("s3://bucket/out", ["out/x"], kind="object")
    assert "holds 1 object(s) no commit of a job wrote there ('out/x'):" in str(one)


def test_messages_name_the_output_and_the_job() -> None:
    assert "output_path '/data/out' was committed by another run" in str(OutputConflictError.of("/data/out"))
    assert str(JobTimeoutError.of("daily", 60.0)) == "job 'daily' exceeded its timeout of 60.0 s"
    assert str(JobTimeoutError.of("daily", 60.0, "reading in.csv")) == (
        "job 'daily' exceeded its timeout of 60.0 s reading in.csv"
    )


def test_a_quality_failure_keeps_every_checks_result() -> None:
    results = [{"name": "rows", "outcome": "failed"}]
    error = DataQualityError("1 check failed", results)
    results.append({"name": "later"})
    assert error.results == [{"name": "rows", "outcome": "failed"}]  # a copy
    assert DataQualityError("no results").results == []
