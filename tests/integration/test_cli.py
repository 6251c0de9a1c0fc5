"""``enterprise-orchestrator`` against real PostgreSQL servers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from airflow_provider_enterprise.cli import main
from airflow_provider_enterprise.dev import embedded_db
from airflow_provider_enterprise.hooks.metadata import JobKey, migration_files
from support.env import BIN

pytestmark = pytest.mark.integration


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "enterprise-orchestrator"), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_start_migrate_doctor_stop(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path) -> None:
    env = {"AIRFLOW__ENTERPRISE__EMBEDDED_DB_DIR": str(tmp_path / "pg")}
    # The console script starts the server; it must outlive that process.
    started = run_cli("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert "embedded PostgreSQL running" in started.stdout
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__EMBEDDED_DB_DIR", str(tmp_path / "pg"))
    try:
        assert embedded_db.running_server(tmp_path / "pg") is not None
        assert main(["migrate"]) == 0
        assert "applied 0001_jobs_and_attempts" in capsys.readouterr().out
        assert main(["migrate"]) == 0
        assert "up to date" in capsys.readouterr().out
        assert main(["doctor"]) == 0
        assert "registry database: ok" in capsys.readouterr().out
        assert main(["db", "status"]) == 0
    finally:
        assert main(["db", "stop"]) == 0
    assert embedded_db.running_server(tmp_path / "pg") is None
    assert main(["db", "status"]) == 1


def test_db_start_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__EMBEDDED_DB_DIR", str(tmp_path / "pg"))
    assert main(["db", "start"]) == 1
    assert "ENVIRONMENT=production" in capsys.readouterr().err
    assert not (tmp_path / "pg").exists()


def test_doctor_names_what_is_wrong_and_how_to_fix_it(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__EMBEDDED_DB_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://127.0.0.1:1")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "registry database: PROBLEM" in out
    assert "enterprise-orchestrator db start" in out
    assert "spark: PROBLEM - master 'spark://127.0.0.1:1' unreachable" in out


def test_doctor_reports_pending_migrations(monkeypatch, capsys, fresh_database: str) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    assert main(["doctor"]) == 1
    versions = [version for version, _ in migration_files()]
    assert versions[:2] == ["0001_jobs_and_attempts", "0002_resilience"]
    pending = f"pending migrations {', '.join(versions)}"
    assert f"{pending}; run `enterprise-orchestrator migrate`" in capsys.readouterr().out


def test_bad_configuration_exits_with_usage_error(monkeypatch, capsys, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("engines:\n  local:\n    max_wrkers: 3\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    assert main(["doctor"]) == 2
    assert "engines.local.max_wrkers: Extra inputs are not permitted" in capsys.readouterr().err


def test_jobs_list_and_show(monkeypatch, capsys, registry, registry_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", registry_url)
    job_id = registry.register_job(JobKey("cli_dag", "run_1", "t"), job_name="cli_job", job_type="etl_pipeline")
    attempt = registry.start_attempt(job_id, 1, engine="local")
    registry.complete_attempt(attempt.attempt_id, rows_in=7, rows_out=2, output_path="/out/cli")

    assert main(["jobs", "list", "--dag-id", "cli_dag", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["job_id"], listed["status"]) == (job_id, "succeeded")

    assert main(["jobs", "show", "--dag-id", "cli_dag"]) == 0
    shown = capsys.readouterr().out
    assert "rows in/out: 7 / 2" in shown
    assert "output: /out/cli" in shown

    assert main(["jobs", "show", "999999"]) == 1


def test_events_list_and_show_the_dead_letters(monkeypatch, capsys, registry, registry_url: str) -> None:
    from airflow_provider_enterprise.events.ledger import EventLedger
    from airflow_provider_enterprise.events.messages import parse_job_message

    monkeypatch.setenv("DATABASE_URL", registry_url)
    ledger = EventLedger(registry, dag_id="enterprise_job_events", run_id="r1")
    job = {"job_name": "cli_event", "input_path": "/in.csv", "output_path": "/out"}
    ledger.admit(parse_job_message("cli-jobs", "1-0", json.dumps(job)))
    ledger.dead_letter("cli-jobs", "2-0", "not valid JSON: Expecting value")
    ledger.dead_letter("other-jobs", "3-0", "no 'job' field")

    assert main(["events", "list", "--status", "dead_letter", "--stream", "cli-jobs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["message_id"], listed["reason"]) == ("2-0", "not valid JSON: Expecting value")
    assert main(["events", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["RECEIVED_AT", "STREAM", "MESSAGE_ID", "STATUS"]
    assert [line.split()[3:5] for line in table[1:]] == [
        ["3-0", "dead_letter"],
        ["2-0", "dead_letter"],
        ["1-0", "admitted"],
    ]

    assert main(["events", "show", "cli-jobs", "1-0"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["job_run_id"], shown["reason"]) == (
        "admitted",
        "job__" + shown["idempotency_key"],
        None,
    )
    assert main(["events", "show", "cli-jobs", "9-9"]) == 1
    assert "no message 9-9 of stream cli-jobs" in capsys.readouterr().err


def test_generate_data(capsys, tmp_path: Path) -> None:
    assert main(["generate-data", str(tmp_path / "t.csv"), "--rows", "25"]) == 0
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 26
