"""
The audit trail on a real registry: one event per finished attempt (through ``dag.test()`` and through the
hook, as the reconciliation sweep finishes attempts), filters by path and user, the CLI view, and least
privilege: connected as a login role of ``enterprise_app`` the registry works, but audit events cannot be
changed or deleted and the schema cannot be altered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg
import pytest

from airflow_provider_enterprise.cli import main
from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey, RunTrigger
from airflow_provider_enterprise.ops.audit import AuditTrail
from support.env import CORRUPT_PARQUET, EXAMPLE_DAGS

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
APP_USER = "audit_test_app"


def events_of(registry, dag_run) -> list[dict]:
    return sorted(AuditTrail(registry).find(run_id=dag_run.run_id, limit=100), key=lambda e: e["try_number"])


def test_a_run_leaves_one_event_per_attempt_with_user_paths_and_counts(dags, registry, tmp_path: Path) -> None:
    out = tmp_path / "out"
    dag_run = dags.processing.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    assert dag_run.state == "success"
    (event,) = events_of(registry, dag_run)
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))
    (attempt,) = job["attempts"]
    assert event["attempt_id"] == attempt["attempt_id"]
    assert (event["triggered_by"], event["run_type"]) == ("dag_test", "manual")  # dag.test()'s triggering user
    assert event["inputs"] == [{"name": "input", "path": str(SAMPLE), "records": len(pd.read_csv(SAMPLE))}]
    assert (event["output_path"], event["rows_out"], event["outcome"]) == (str(out), attempt["rows_out"], "succeeded")
    assert event["engine"] == "local" and event["started_at"] <= event["finished_at"]


def test_retries_leave_one_event_each_failed_then_succeeded(dags, registry, tmp_path: Path) -> None:
    (tmp_path / "try1").mkdir()
    (tmp_path / "try1" / "part-0.parquet").write_bytes(CORRUPT_PARQUET)
    (tmp_path / "try2").mkdir()
    shutil.copy(SAMPLE, tmp_path / "try2" / "part-0.csv")
    dag_run = dags.retried.test(run_conf={"data_dir": str(tmp_path)})
    assert dag_run.state == "success"
    events = events_of(registry, dag_run)
    assert [(e["try_number"], e["outcome"], e["error_class"]) for e in events] == [
        (1, "failed", "InvalidInputException"),
        (2, "succeeded", None),
    ]
    assert events[0]["inputs"] == [{"name": "input", "path": str(tmp_path / "try1")}]  # no records: it failed
    assert events[0]["output_path"] == str(tmp_path / "out")  # the target, from the spec


def test_an_attempt_finished_outside_the_operator_is_audited_once(registry) -> None:
    job_id = registry.register_job(JobKey("swept_dag", "run_1", "t"), job_name="swept", job_type="etl_pipeline")
    trigger = RunTrigger(user=None, run_type="scheduled")
    attempt = registry.start_attempt(job_id, 1, engine="spark", trigger=trigger, inputs=[{"name": "a", "path": "/x"}])
    assert AuditTrail(registry).count(dag_id="swept_dag") == 0  # nothing while it runs
    registry.fail_attempt(attempt.attempt_id, RuntimeError("task process died"))  # what the sweep does
    (event,) = AuditTrail(registry).find(dag_id="swept_dag")
    assert (event["triggered_by"], event["outcome"], event["error_class"]) == ("scheduled", "failed", "RuntimeError")
    with registry.transaction() as cur:  # a later change of the attempt adds nothing
        cur.execute(
            "UPDATE enterprise_job_attempts SET heartbeat_at = now() WHERE attempt_id = %s", (attempt.attempt_id,)
        )
    assert AuditTrail(registry).count(dag_id="swept_dag") == 1


def finished(registry, dag_id: str, user: str | None, path: str) -> None:
    job_id = registry.register_job(JobKey(dag_id, f"run_{user}_{path}", "t"), job_name="j", job_type="etl_pipeline")
    attempt = registry.start_attempt(
        job_id, 1, trigger=RunTrigger(user, "manual"), inputs=[{"name": "input", "path": path}]
    )
    registry.complete_attempt(attempt.attempt_id, rows_in=3, rows_out=1, output_path=f"/lake/out/{dag_id}")


def test_events_filter_by_path_prefix_user_and_dag(registry) -> None:
    finished(registry, "filters_a", "alice", "/lake/pii/customers.csv")
    finished(registry, "filters_a", "bob", "/lake/public/prices.csv")
    finished(registry, "filters_b", "alice", "/lake/public/prices.csv")
    trail = AuditTrail(registry)
    by_path = trail.find(path="/lake/pii/", dag_ids=["filters_a", "filters_b"])
    assert [(e["dag_id"], e["triggered_by"]) for e in by_path] == [("filters_a", "alice")]
    assert trail.count(path="/lake/out/filters_b") == 1  # outputs match too
    assert {e["dag_id"] for e in trail.find(user="alice", dag_ids=["filters_a", "filters_b"])} == {
        "filters_a",
        "filters_b",
    }
    assert trail.count(user="alice", dag_ids=["filters_b"]) == 1
    assert trail.count(path="/lake/pii%", dag_ids=["filters_a"]) == 0  # a path is not a LIKE pattern


def test_cli_lists_events_by_path(monkeypatch, capsys, registry, registry_url: str) -> None:
    finished(registry, "cli_audit", "carol", "/lake/cli/input.csv")
    monkeypatch.setenv("DATABASE_URL", registry_url)
    assert main(["audit", "list", "--path", "/lake/cli", "--json"]) == 0
    (event,) = json.loads(capsys.readouterr().out)
    assert (event["dag_id"], event["triggered_by"], event["rows_in"]) == ("cli_audit", "carol", 3)
    assert main(["audit", "list", "--user", "carol"]) == 0
    assert "cli_audit" in capsys.readouterr().out


@pytest.fixture
def app_registry(registry_url: str):
    """The registry as a login role that is a member of enterprise_app (what deployments connect as)."""
    with psycopg.connect(registry_url, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP_USER}")
        admin.execute(f"CREATE ROLE {APP_USER} LOGIN IN ROLE enterprise_app")
    parts = urlsplit(registry_url)
    url = urlunsplit(parts._replace(netloc=f"{APP_USER}@"))
    yield EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url})), url
    with psycopg.connect(registry_url, autocommit=True) as admin:
        admin.execute(f"REASSIGN OWNED BY {APP_USER} TO CURRENT_USER")
        admin.execute(f"DROP OWNED BY {APP_USER}")
        admin.execute(f"DROP ROLE {APP_USER}")


def test_the_application_role_runs_jobs_but_cannot_change_audit_events_or_the_schema(app_registry) -> None:
    hook, url = app_registry
    assert hook.migrate() == []  # checks the applied migrations without creating anything
    finished(hook, "least_privilege", "dave", "/lake/lp.csv")
    (event,) = AuditTrail(hook).find(dag_id="least_privilege")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (APP_USER,)
        for statement in (
            f"UPDATE enterprise_audit_events SET triggered_by = 'mallory' WHERE audit_id = {event['audit_id']}",
            f"DELETE FROM enterprise_audit_events WHERE audit_id = {event['audit_id']}",
            "TRUNCATE enterprise_audit_events",
            "ALTER TABLE enterprise_jobs ADD COLUMN smuggled TEXT",
            "DROP TRIGGER enterprise_audit_finished_attempt ON enterprise_job_attempts",
            "CREATE TABLE enterprise_shadow (x int)",
            "DELETE FROM enterprise_schema_migrations",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute(
            "SELECT triggered_by FROM enterprise_audit_events WHERE audit_id = %s", (event["audit_id"],)
        ).fetchone() == ("dave",)
