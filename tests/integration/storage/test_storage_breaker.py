"""
The circuit breaker of a storage connection (``storage:<conn_id>``), through ``dag.test()`` on the local engine: an
unreachable endpoint is a transient failure that Airflow retries and the connection's breaker counts until it
opens; the job's own errors and other connections' jobs leave it alone.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from airflow_provider_enterprise.config import CircuitBreakerSettings
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker
from support.env import EXAMPLE_DAGS
from support.jobs import dead_letters_of, job_of
from support.s3 import SECRET_KEY

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
SETTINGS = CircuitBreakerSettings(failure_threshold=2, reset_timeout=600)


@pytest.fixture
def breakers(tmp_path: Path, monkeypatch, registry) -> dict[str, CircuitBreaker]:
    """Breakers that open after two failures (the jobs read the same settings), reset."""
    config = tmp_path / "breakers.yaml"
    config.write_text("circuit_breaker:\n  failure_threshold: 2\n  reset_timeout: 600\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    found = {name: CircuitBreaker(registry, f"storage:{name}", SETTINGS) for name in ("s3_down", "aws_default")}
    for breaker in found.values():
        breaker.reset()
    return found


@pytest.fixture
def unreachable(s3_endpoint, monkeypatch) -> str:
    """An Airflow connection ``s3_down`` to an endpoint nothing listens on (botocore tries once)."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = s3_endpoint.connection(endpoint_url=f"http://127.0.0.1:{port}")
    connection["extra"]["config_kwargs"] = {"retries": {"max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_S3_DOWN", json.dumps(connection))
    return "s3_down"


def test_an_unreachable_store_is_retried_and_opens_its_connection_s_breaker(
    dags, registry, breakers, unreachable: str, s3_endpoint, bucket: str
) -> None:
    conf = {
        "input_path": f"s3://{bucket}/raw/in.csv",
        "output_path": f"s3://{bucket}/out",
        "storage_conn_id": unreachable,
    }
    dag_run = dags.object_storage_retried.test(run_conf=conf)
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    tries = [(a["try_number"], a["error_class"], a["retry_decision"]) for a in job["attempts"]]
    assert tries == [
        (1, "EndpointConnectionError", "Airflow retries (try 2 of 3)"),
        (2, "EndpointConnectionError", "Airflow retries (try 3 of 3)"),
        # the breaker opened after two failures: the last try fails fast without calling the store
        (3, "CircuitOpenError", "retries exhausted (2 allowed)"),
    ]
    assert "storage:s3_down" in job["attempts"][2]["error_message"]
    row = breakers["s3_down"].status()
    assert (row["state"], row["total_failures"]) == ("open", 2)
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert letter["error_class"] == "CircuitOpenError"
    assert SECRET_KEY not in str(job)

    # another connection's jobs run on: the breaker is the connection's, not the store type's
    s3_endpoint.filesystem().pipe_file(f"{bucket}/raw/in.csv", SAMPLE.read_bytes())
    other = dags.object_storage_retried.test(run_conf={**conf, "storage_conn_id": "aws_default"})
    assert other.state == "success"
    assert breakers["aws_default"].status()["state"] == "closed"


def test_a_job_s_own_storage_error_does_not_count_and_a_success_is_recorded(
    dags, registry, breakers, s3_endpoint, bucket: str
) -> None:
    breaker = breakers["aws_default"]
    before = breaker.status()
    s3_endpoint.filesystem().pipe_file(f"{bucket}/raw/in.csv", SAMPLE.read_bytes())
    missing = {"input_path": f"s3://{bucket}/raw/missing.csv", "output_path": f"s3://{bucket}/out"}
    dag_run = dags.object_storage_retried.test(run_conf={**missing, "storage_conn_id": "aws_default"})
    assert dag_run.state == "failed"
    (attempt,) = job_of(registry, dag_run)["attempts"]  # permanent: one try
    assert attempt["error_class"] == "InputNotFoundError"
    row = breaker.status()
    assert (row["consecutive_failures"], row["total_failures"]) == (0, before["total_failures"])

    good = {"input_path": f"s3://{bucket}/raw/in.csv", "output_path": f"s3://{bucket}/out"}
    assert dags.object_storage_retried.test(run_conf={**good, "storage_conn_id": "aws_default"}).state == "success"
    row = breaker.status()
    assert (row["state"], row["total_successes"]) == ("closed", before["total_successes"] + 1)
    assert row["total_failures"] == before["total_failures"]
