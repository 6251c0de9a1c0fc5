"""
Nothing a job holds as a secret is stored or shown in clear (issue #29): sensitive ``job_data`` values at any
depth, a connection password rendered into the spec, and a masking key that a failing filter expression quotes.
A real run (``dag.test()``, the registry on the embedded PostgreSQL, DuckDB), then every registry table (audit
trail and dead letters included), the plugin API's responses, the CLI's output, the task logs and the XCom are
searched for them. Rows written unmasked (before masking at write) are masked when shown.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from airflow_provider_enterprise.cli import main
from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.plugin.api import create_app
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.env import BIN, TEST_DAGS
from support.secrets import registry_text, rendered_fields_text, xcom_text

pytestmark = pytest.mark.integration

KEY = "Masking-key-in-a-filter-91d3"
CONN_PASSWORD = "Rendered-conn-password-5e0b"
JOB_DATA_SECRETS = (
    "Job-data-password-4711",
    "job-data-api-token-0815",
    "nested-credential-2a9f",
    "nested-signing-key-77c1",
)


@pytest.fixture(scope="module")
def secret_dags(airflow_db: str, registry_url: str):
    """``tests/dags/secret_dags.py``, over the session's Airflow database and the module's registry."""
    spec = importlib.util.spec_from_file_location("secret_dags", TEST_DAGS / "secret_dags.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerows([("email", "name"), ("ada@example.com", "Ada"), ("grace@example.org", "Grace")])
    return path


def api_client(registry_url: str) -> TestClient:
    """The plugin's app in process, with an admin's JWT from Airflow's own auth manager."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    token = create_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    client = TestClient(create_app(load_settings({"DATABASE_URL": registry_url}, use_airflow=False)))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def api_text(client: TestClient, job_ids: list[int], letter_ids: list[int]) -> str:
    """Every plugin API response that shows registry rows (each asserted 200)."""
    paths = [
        "/api/v1/jobs",
        "/api/v1/audit",
        "/api/v1/dead-letters",
        *(f"/api/v1/jobs/{job_id}" for job_id in job_ids),
        *(f"/api/v1/dead-letters/{letter_id}" for letter_id in letter_ids),
    ]
    texts = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    return "\n".join(texts)


def cli_in_process(capfd, job_ids: list[int], letter_ids: list[int]) -> str:
    """The CLI's output of every command that shows registry rows."""
    commands = [
        ["jobs", "list", "--json"],
        ["dlq", "list", "--json"],
        ["audit", "list", "--json"],
        *(["jobs", "show", str(job_id), *form] for job_id in job_ids for form in ([], ["--json"])),
        *(["dlq", "show", str(letter_id)] for letter_id in letter_ids),
    ]
    texts = []
    for command in commands:
        assert main(command) == 0, command
        texts.append(capfd.readouterr().out)
    return "\n".join(texts)


def cli_subprocess(registry_url: str, *args: str) -> str:
    """``enterprise-orchestrator`` in a process of its own, whose secrets masker has registered nothing."""
    done = subprocess.run(
        [str(BIN / "enterprise-orchestrator"), *args],
        env={**os.environ, "DATABASE_URL": registry_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def leaks(secrets: tuple[str, ...], places: dict[str, str]) -> list[tuple[str, str]]:
    return [(place, secret) for place, text in places.items() for secret in secrets if secret in text]


def test_no_secret_of_a_job_is_stored_or_shown(
    secret_dags, registry, registry_url: str, people: Path, tmp_path: Path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv("DATABASE_URL", registry_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENTERPRISE_MASKING_DEFAULT",
        json.dumps({"conn_type": "enterprise_masking", "login": "2026-12", "password": KEY}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SECRET_PROBE_DB",
        json.dumps({"conn_type": "postgres", "host": "warehouse", "login": "etl", "password": CONN_PASSWORD}),
    )
    # the key reaches the filters through the conf; the failing one calls a function expressions may not call
    condition = f'name = "{KEY}" AND reflect("java.lang.System", "exit", 1) IS NULL'
    conf = {"input_path": str(people), "output_path": str(tmp_path / "out"), "who": KEY, "condition": condition}
    dag_run = secret_dags.secrets.test(run_conf=conf)
    logs = capfd.readouterr()
    # what Airflow's logging writes (pytest's caplog handler gets records before Airflow's masking: not a task log)
    task_logs = logs.out + logs.err
    assert "Task failed with exception" in task_logs and "Hashed with masking keys" in task_logs  # both logged

    ok = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "succeeds"))
    failed = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "fails"))
    assert ok["status"] == "succeeded", ok["attempts"][-1]["error_message"]
    assert failed["status"] == "failed"
    (attempt,) = failed["attempts"]
    assert attempt["error_class"] == "InvalidJobSpec"
    letters = [
        d["dead_letter_id"] for d in DeadLetterQueue(registry).find(limit=100) if d["job_id"] == failed["job_id"]
    ]
    assert len(letters) == 1
    job_ids = [ok["job_id"], failed["job_id"]]
    with api_client(registry_url) as client:
        api = api_text(client, job_ids, letters)
    places = {
        "registry": registry_text(registry),
        "task logs": task_logs,
        "XCom": xcom_text(dag_run),
        "rendered fields (Airflow UI)": rendered_fields_text(dag_run),
        "plugin API": api,
        "CLI": cli_in_process(capfd, job_ids, letters),
    }
    assert "job_data" in places["plugin API"] and "job_data" in places["CLI"]  # the specs were shown
    assert '"rows_out": 2' in places["XCom"].replace("'", '"')
    assert "warehouse_url" in places["rendered fields (Airflow UI)"]
    found = leaks((KEY, CONN_PASSWORD, *JOB_DATA_SECRETS), places)
    assert not found, f"secrets in clear (place, secret): {found}"
    assert "reflect" in attempt["error_message"] and 'name = "***"' in attempt["error_message"]
    # what is not secret stays readable; what is, is masked in place
    job_data = ok["attempts"][0]["spec"]["job_data"]
    assert job_data["owner"] == "data-team"
    assert job_data["warehouse_url"] == "postgresql://etl:***@warehouse/analytics"
    assert (job_data["password"], job_data["service"]["accounts"][0]["credential"]) == ("***", "***")
    assert ok["attempts"][0]["spec"]["processing_logic"]["transformations"][0]["condition"] == 'name <> "***"'
    stored = failed["attempts"][0]["spec"]["processing_logic"]["transformations"][0]["condition"]
    assert stored == condition.replace(KEY, "***")


def test_rows_stored_unmasked_are_masked_when_shown(airflow_db: str, registry, registry_url: str, monkeypatch) -> None:
    """
    Rows written before masking at write: the API and the CLI (a process that never saw the job) mask them, the
    masking key their specs name included.
    """
    secrets = ("Old-row-password-93ab", "old-row-api-token-c0de", "old-row-credential-51f7", "Old-row-masking-key-e4d3")
    key_connection = {"conn_type": "enterprise_masking", "login": "2025-01", "password": secrets[3]}
    monkeypatch.setenv("AIRFLOW_CONN_OLD_ROWS_KEY", json.dumps(key_connection))
    logic = {
        "transformations": [
            {"type": "filter", "condition": f"name = '{secrets[3]}'"},
            {"type": "mask", "columns": {"email": "hash"}, "key_conn_id": "old_rows_key"},
        ]
    }
    spec = {
        "job_name": "old",
        "input_path": "/in.csv",
        "processing_logic": logic,
        "job_data": {
            "owner": "ops",
            "db_password": secrets[0],
            "auth": [{"api_token": secrets[1]}],
            "credentials": secrets[2],
        },
    }
    job_id = registry.register_job(JobKey("old_rows", "run_1", "t"), job_name="old", job_type="etl")
    with registry.transaction() as cur:  # as an earlier version wrote them: in clear
        cur.execute(
            "INSERT INTO enterprise_job_attempts (job_id, try_number, status, spec, error_message, finished_at)"
            " VALUES (%s, 1, 'failed', %s::jsonb, %s, now()) RETURNING attempt_id",
            (job_id, json.dumps(spec), f"login refused for token {secrets[1]}"),
        )
        attempt_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO enterprise_dead_letters (job_id, try_number, dag_id, run_id, task_id, map_index, spec,"
            " error_class, error_message, attempt_count, first_failure_at, last_failure_at)"
            " VALUES (%s, 1, 'old_rows', 'run_1', 't', -1, %s::jsonb, 'E', %s, 1, now(), now())"
            " RETURNING dead_letter_id",
            (job_id, json.dumps(spec), f"login refused with {secrets[0]} where name = '{secrets[3]}'"),
        )
        letter_id = cur.fetchone()[0]
    assert secrets[0] in registry_text(registry)  # the probe is real

    with api_client(registry_url) as client:
        api = api_text(client, [job_id], [letter_id])
    cli = "\n".join(
        [
            cli_subprocess(registry_url, "jobs", "show", str(job_id), "--json"),
            cli_subprocess(registry_url, "dlq", "show", str(letter_id)),
        ]
    )
    assert f'"attempt_id": {attempt_id}' in cli and '"owner": "ops"' in cli
    found = leaks(secrets, {"plugin API": api, "CLI": cli})
    assert not found, f"secrets in clear (place, secret): {found}"
