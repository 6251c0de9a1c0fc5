"""
Masking through the operator (``dag.test()``) on the local engine and on Spark (spark-submit to ``local[2]``):
the key comes from an Airflow connection, the output holds HMAC-SHA-256 digests equal to Python's ``hmac``, the
key's version is recorded in the result, and the key itself appears in no task log, registry row, XCom or
metric datagram.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from support.secrets import registry_text, xcom_text
from support.spark_cluster import HOST

pytestmark = pytest.mark.integration

KEY = "Sup3r-s3cret-masking-key-7f3a9c"
VERSION = "2026-12"
PEOPLE = [
    {"email": "ada@example.com", "card": "4111111111111111", "name": "Ada", "phone": "+44 20 7946 0000"},
    {"email": "grace@example.org", "card": "5500000000000004", "name": "Grace", "phone": "+1 202 555 0100"},
]


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(PEOPLE[0]))
        writer.writeheader()
        writer.writerows(PEOPLE)
    return path


def key_connection(monkeypatch, key: str = KEY, version: str = VERSION) -> None:
    connection = {"conn_type": "enterprise_masking", "login": version, "password": key}
    monkeypatch.setenv("AIRFLOW_CONN_ENTERPRISE_MASKING_DEFAULT", json.dumps(connection))


def run_masking(dags, registry, people: Path, tmp_path: Path, capture, engine: str) -> tuple[object, dict, str]:
    out = tmp_path / "out"
    dag_run = dags.masking.test(run_conf={"input_path": str(people), "output_path": str(out), "engine": engine})
    capfd, caplog = capture
    logs = capfd.readouterr()
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))
    return dag_run, job, logs.out + logs.err + caplog.text


def assert_masked(out: Path) -> None:
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}/*.parquet')").fetchall()
    digests = [hmac.new(KEY.encode(), p["email"].encode(), hashlib.sha256).hexdigest() for p in PEOPLE]
    assert sorted(rows) == sorted(
        [(digests[0], "************1111", "[REDACTED]", None), (digests[1], "************0004", "[REDACTED]", None)]
    )


def assert_key_absent(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert KEY.encode().hex() not in text


def test_local_engine_hashes_with_the_connection_key_and_never_shows_it(
    dags, registry, people: Path, tmp_path: Path, monkeypatch, capfd, caplog, statsd_in_process
) -> None:
    key_connection(monkeypatch)
    dag_run, job, logs = run_masking(dags, registry, people, tmp_path, (capfd, caplog), "local")
    assert dag_run.state == "success", job["attempts"][-1]["error_message"]
    assert_masked(tmp_path / "out")
    xcom = xcom_text(dag_run)
    assert '"masking_key_versions": {"enterprise_masking_default": "2026-12"}' in xcom.replace("'", '"')
    assert f"enterprise_masking_default version {VERSION}" in logs
    assert "Compiled test_masking to DuckDB SQL" in logs  # the SQL is logged, and holds no key
    assert_key_absent(logs, registry_text(registry), xcom, repr(statsd_in_process.datagrams("")))


def test_a_rotated_key_hashes_anew_and_its_version_is_recorded(
    dags, registry, people: Path, tmp_path: Path, monkeypatch, capfd, caplog
) -> None:
    rotated = "Rotated-masking-key-2027-01-b41f"
    key_connection(monkeypatch, rotated, "2027-01")
    dag_run, job, logs = run_masking(dags, registry, people, tmp_path, (capfd, caplog), "local")
    assert dag_run.state == "success", job["attempts"][-1]["error_message"]
    digests = duckdb.sql(f"SELECT email FROM read_parquet('{tmp_path}/out/*.parquet')").fetchall()
    expected = {hmac.new(rotated.encode(), p["email"].encode(), hashlib.sha256).hexdigest() for p in PEOPLE}
    assert {d for (d,) in digests} == expected
    assert "enterprise_masking_default version 2027-01" in logs
    assert rotated not in logs


def test_without_the_key_connection_the_job_fails_at_once_naming_it(
    dags, registry, people: Path, tmp_path: Path, monkeypatch, capfd, caplog
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_ENTERPRISE_MASKING_DEFAULT", raising=False)
    dag_run, job, _ = run_masking(dags, registry, people, tmp_path, (capfd, caplog), "local")
    assert dag_run.state == "failed"
    (attempt,) = job["attempts"]
    assert attempt["error_class"] == "MaskingKeyError"
    assert "connection 'enterprise_masking_default', which does not exist" in attempt["error_message"]
    assert not (tmp_path / "out").exists()


def test_spark_submit_gets_the_key_in_its_environment_only(
    dags, registry, people: Path, tmp_path: Path, monkeypatch, capfd, caplog
) -> None:
    key_connection(monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[2]"}))
    dag_run, job, logs = run_masking(dags, registry, people, tmp_path, (capfd, caplog), "spark")
    assert dag_run.state == "success", job["attempts"][-1]["error_message"]
    assert job["attempts"][-1]["engine"] == "spark"
    assert_masked(tmp_path / "out")
    assert "Spark-Submit cmd" in logs  # the argv is logged, and holds no key
    assert_key_absent(logs, registry_text(registry), xcom_text(dag_run))


def test_spark_connect_hashes_with_the_key_as_data(
    dags, registry, spark_cluster, people: Path, tmp_path: Path, monkeypatch, capfd, caplog
) -> None:
    key_connection(monkeypatch)
    connection = {"conn_type": "spark_connect", "host": HOST, "port": spark_cluster.connect_port}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection))
    dag_run, job, logs = run_masking(dags, registry, people, tmp_path, (capfd, caplog), "spark")
    assert dag_run.state == "success", job["attempts"][-1]["error_message"]
    assert_masked(tmp_path / "out")
    assert_key_absent(logs, registry_text(registry), xcom_text(dag_run))
