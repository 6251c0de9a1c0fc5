"""Data-quality checks through the operator (``dag.test()``): a failed ``fail`` check withholds the output and
dead-letters the job; a ``warn`` check publishes; both record every check's result per attempt."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from support.env import EXAMPLE_DAGS
from support.jobs import dead_letters_of, job_of

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
ACTIVE = pd.read_csv(SAMPLE).query("status == 'active'")
OVER_200 = int((ACTIVE.amount > 200).sum())


def test_a_failed_fail_check_publishes_nothing_and_dead_letters_the_job(dags, registry, tmp_path: Path) -> None:
    assert OVER_200 > 0
    out = tmp_path / "out"
    dag_run = dags.quality_fail.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    assert dag_run.state == "failed"
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []  # nothing published, no staging left

    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # retries=2, but a data-quality failure is permanent
    assert attempt["error_class"] == "DataQualityError"
    assert attempt["retry_decision"] == "DataQualityError is permanent: no retry"
    assert f"amount_in_range (range on output): {OVER_200} row(s) out of range" in attempt["error_message"]
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert letter["error_class"] == "DataQualityError" and "amount_in_range" in letter["error_message"]

    results = attempt["checks"]
    by_name = {r["name"]: r for r in results}
    assert len(results) == 9
    assert (by_name["amount_in_range"]["outcome"], by_name["amount_in_range"]["failing_rows"]) == ("failed", OVER_200)
    assert {r["outcome"] for n, r in by_name.items() if n != "amount_in_range"} == {"passed"}
    assert by_name["row_count"]["observed"] == len(ACTIVE)
    assert by_name["input_not_empty"]["observed"] == len(pd.read_csv(SAMPLE))


def test_a_failed_warn_check_publishes_and_records(dags, registry, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = dags.quality_warn.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    assert first.state == "success"
    assert (out / "_SUCCESS").exists()
    job = job_of(registry, first)
    (attempt,) = job["attempts"]
    assert (attempt["status"], attempt["rows_out"]) == ("succeeded", len(ACTIVE))
    results = {r["name"]: r for r in attempt["checks"]}
    assert (results["amount_in_range"]["outcome"], results["amount_in_range"]["severity"]) == ("warned", "warn")
    assert "no previous successful run" in results["row_count"]["message"]

    second = dags.quality_warn.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    assert second.state == "success"
    job = job_of(registry, second)
    results = {r["name"]: r for r in job["attempts"][0]["checks"]}
    assert f"0.0% from the previous run's {len(ACTIVE)}" in results["row_count"]["message"]
    assert results["row_count"]["outcome"] == "passed"


def test_check_results_show_in_the_cli_the_plugin_api_and_the_client(dags, registry, registry_url, capsys, tmp_path):
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from airflow_provider_enterprise.cli import main
    from airflow_provider_enterprise.clients.jobs import JobStatus
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.plugin.api import create_app

    dag_run = dags.quality_warn.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path / "out")})
    job_id = job_of(registry, dag_run)["job_id"]

    assert main(["jobs", "show", str(job_id)]) == 0
    shown = capsys.readouterr().out
    assert "data-quality checks of try 1:" in shown
    assert re.search(rf"\namount_in_range +range +output +warned +{OVER_200} +{OVER_200} row\(s\) out of range", shown)

    token = create_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    client = TestClient(create_app(load_settings({"DATABASE_URL": registry_url}, use_airflow=False)))
    response = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    checks = JobStatus("run", "success", registry=response.json()).checks
    assert [c["name"] for c in checks][:4] == [
        "not_null_transaction_id",
        "unique_transaction_id",
        "accepted_values_status",
        "amount_in_range",
    ]
    assert checks[3] | {"message": ""} == {
        "name": "amount_in_range",
        "type": "range",
        "severity": "warn",
        "target": "output",
        "outcome": "warned",
        "observed": OVER_200,
        "failing_rows": OVER_200,
        "message": "",
    }
