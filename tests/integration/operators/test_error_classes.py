"""
Error classes through the operator (``dag.test()``, real DuckDB and registry): a permanent error takes one try, a
transient one every try the job allows; either way the job ends with exactly one dead letter, and only transient
failures count against its circuit breaker.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.config import CircuitBreakerSettings
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.env import CORRUPT_PARQUET, EXAMPLE_DAGS

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
DEEP = "(" * 50 + "amount > 0" + ")" * 50


def job_of(registry: EnterpriseMetadataHook, dag_run) -> dict:
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))
    assert job is not None, f"no job registered for {dag_run.run_id}"
    return job


def dead_letters_of(registry: EnterpriseMetadataHook, job_id: int) -> list[dict]:
    return [d for d in DeadLetterQueue(registry).find(limit=1000) if d["job_id"] == job_id]


def corrupt_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(CORRUPT_PARQUET)
    return path


def broken_json(tmp_path: Path) -> Path:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"amount": 1.5, "category": "books"}\n{"amount": 2.5, "category": \n')
    return path


@pytest.mark.parametrize(
    ("make_input", "condition", "error_class", "message"),
    [
        (lambda _: SAMPLE, "CAST(category AS DOUBLE) > 0", "ConversionException", "Could not convert string"),
        (lambda _: SAMPLE, "abs(CAST(customer_id AS INT) * 2147483647) > 0", "OutOfRangeException", "Overflow"),
        (corrupt_parquet, "amount > 0", "InvalidInputException", "No magic bytes"),
        (broken_json, "amount > 0", "InvalidInputException", "Malformed JSON"),
        (
            lambda _: SAMPLE,
            DEEP,
            "InvalidJobSpec",
            "processing_logic.transformations[0] (filter).condition: nesting deeper than 24 levels",
        ),
    ],
    ids=["conversion", "overflow", "corrupt_parquet", "broken_json_line", "deep_nesting"],
)
def test_permanent_errors_take_one_try_and_one_dead_letter(
    dags, registry, tmp_path: Path, make_input, condition: str, error_class: str, message: str
) -> None:
    breaker = CircuitBreaker(registry, "test:errors")
    breaker.reset()
    failures = breaker.status()["total_failures"]
    conf = {"input_path": str(make_input(tmp_path)), "output_path": str(tmp_path / "out"), "condition": condition}
    dag_run = dags.errors.test(run_conf=conf)
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # the policy allows 3 tries; a permanent error burns none
    assert (attempt["status"], attempt["error_class"]) == ("failed", error_class)
    assert message in attempt["error_message"]
    assert attempt["retry_decision"] == f"{error_class} is permanent: no retry"
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["attempt_count"], letter["error_class"]) == (1, 1, error_class)
    assert (breaker.status()["consecutive_failures"], breaker.status()["total_failures"]) == (0, failures)
    assert not (tmp_path / "out").exists()


def test_a_transient_error_takes_every_try_counts_against_the_breaker_and_leaves_one_dead_letter(
    dags, registry, tmp_path: Path
) -> None:
    big = tmp_path / "big.parquet"  # far more than the job's 1 ms
    duckdb.sql(f"COPY (SELECT range AS id, random() AS amount FROM range(3000000)) TO '{big}'")
    breaker = CircuitBreaker(registry, "test:errors")
    breaker.reset()
    dag_run = dags.errors_timeout.test(run_conf={"input_path": str(big), "output_path": str(tmp_path / "out")})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    tries = [(a["try_number"], a["status"], a["error_class"], a["retry_decision"]) for a in job["attempts"]]
    assert tries == [
        (1, "failed", "JobTimeoutError", "Airflow retries (try 2 of 3)"),
        (2, "failed", "JobTimeoutError", "Airflow retries (try 3 of 3)"),
        (3, "failed", "JobTimeoutError", "retries exhausted (2 allowed)"),
    ]
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["attempt_count"], letter["error_class"]) == (3, 3, "JobTimeoutError")
    assert breaker.status()["consecutive_failures"] == 3


def test_a_spec_that_renders_too_deep_leaves_an_attempt_and_a_dead_letter(dags, registry, tmp_path: Path) -> None:
    """Nesting found only once the template renders: recorded like any failure, at once (no bare RecursionError)."""
    conf = {"input_path": str(SAMPLE), "output_path": str(tmp_path / "out"), "condition": "NOT " * 400 + "amount > 0"}
    dag_run = dags.errors.test(run_conf=conf)
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]
    assert (attempt["error_class"], attempt["try_number"]) == ("InvalidJobSpec", 1)
    assert "condition: nesting deeper than 24 levels" in attempt["error_message"]
    assert attempt["spec"]["processing_logic"]["transformations"][0]["condition"].startswith("NOT NOT")
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert letter["error_class"] == "InvalidJobSpec"


def test_any_error_building_the_spec_leaves_an_attempt_and_a_dead_letter(
    dags, registry, tmp_path: Path, monkeypatch
) -> None:
    """Not only InvalidJobSpec: here the key connection of a ``mask`` does not exist (a MaskingKeyError)."""
    monkeypatch.delenv("AIRFLOW_CONN_ENTERPRISE_MASKING_DEFAULT", raising=False)
    dag_run = dags.masking.test(
        run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path / "out"), "engine": "local"}
    )
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # one try: a missing connection is permanent
    assert (attempt["status"], attempt["error_class"]) == ("failed", "MaskingKeyError")
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["error_class"]) == (1, "MaskingKeyError")


def test_a_permanent_failure_under_a_probe_frees_the_probe_and_counts_nothing(
    dags, registry, tmp_path: Path, monkeypatch
) -> None:
    config = tmp_path / "breaker.yaml"
    config.write_text("circuit_breaker:\n  failure_threshold: 1\n  reset_timeout: 0.5\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    breaker = CircuitBreaker(registry, "test:errors", CircuitBreakerSettings(failure_threshold=1, reset_timeout=0.5))
    breaker.reset()
    breaker.record_failure(breaker.acquire())
    failures = breaker.status()["total_failures"]
    time.sleep(0.6)  # past the reset timeout: the job's try is the probe
    conf = {
        "input_path": str(SAMPLE),
        "output_path": str(tmp_path / "out"),
        "condition": "CAST(category AS DOUBLE) > 0",
    }
    dag_run = dags.errors.test(run_conf=conf)
    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert attempt["error_class"] == "ConversionException"
    row = breaker.status()
    assert (row["state"], row["probe_leases"], row["total_failures"]) == ("half_open", {}, failures)
    assert breaker.acquire().is_probe  # the next job probes at once, not after the probe's lease


def test_a_template_that_cannot_render_leaves_an_attempt_and_a_dead_letter(dags, registry, tmp_path: Path) -> None:
    dag_run = dags.render_error.test(run_conf={"data_dir": str(tmp_path)})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # one try: a template that does not render never will
    assert (attempt["status"], attempt["error_class"]) == ("failed", "UndefinedError")
    assert "no_such_param" in attempt["error_message"]
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["error_class"]) == (1, "UndefinedError")
    assert list(tmp_path.iterdir()) == []  # nothing was read or written with half-rendered paths
