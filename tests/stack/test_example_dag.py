"""The example DAG on the real stack: REST triggering without a logical date, clearing a failed task."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.ops.audit import AuditTrail
from support.cli import orchestrator
from support.env import BIN, EXAMPLE_DAGS
from support.stack import ADMIN_USER
from support.statsd import load_rules, prometheus

pytestmark = pytest.mark.stack

DAG_ID = "enterprise_daily_processing"
TASK_ID = "process_daily_data"


def test_rest_trigger_without_logical_date_runs_and_registers_the_attempt(airflow_stack, stack_registry) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    run_id = airflow_stack.trigger(DAG_ID)
    assert airflow_stack.wait_for_run(DAG_ID, run_id) == "success"

    run = airflow_stack.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()
    assert run["logical_date"] is None
    job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
    assert job["status"] == "succeeded"
    (attempt,) = job["attempts"]
    assert attempt["engine"] == "local"
    assert attempt["rows_in"] == 10_000
    assert attempt["rows_out"] > 0
    day = run["run_after"][:10]
    output = Path(airflow_stack.env["ENTERPRISE_OUTPUT_DIR"]) / "daily_processing" / day
    assert attempt["output_path"] == str(output)
    assert (output / "_SUCCESS").exists()
    (event,) = AuditTrail(stack_registry).find(run_id=run_id)  # the REST caller is the run's triggering user
    assert (event["triggered_by"], event["run_type"], event["outcome"]) == (ADMIN_USER, "manual", "succeeded")
    assert (event["inputs"][0]["records"], event["output_path"]) == (10_000, str(output))

    xcom = airflow_stack.client.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/return_value"
    ).json()["value"]
    assert (xcom["job_id"], xcom["rows_in"], xcom["engine"]) == (job["job_id"], 10_000, "local")

    # the metrics the scheduler's task process, the scheduler and the triggerer sent, as statsd-exporter maps them
    time.sleep(1)
    rules = load_rules()
    sent = airflow_stack.statsd.datagrams("airflow.")
    names = {prometheus(d, rules)[0] for d in sent if prometheus(d, rules)}
    ours = [d for d in sent if d.name == "airflow.enterprise.jobs" and d.tags.get("dag_id") == DAG_ID]
    assert {"status": "succeeded", "engine": "local", "job_type": "data_processing", "dag_id": DAG_ID} in [
        d.tags for d in ours
    ]
    assert {"orchestrator_jobs_total", "orchestrator_records_processed_total", "airflow_ti_finish_total"} <= names
    assert {"airflow_dag_run_duration", "airflow_triggerer_capacity_left"} <= names, sorted(names)


def test_airflow_dags_trigger_cli_runs_the_dag(airflow_stack, stack_registry) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "trigger", DAG_ID, "--output", "json"],
        env=airflow_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["logical_date"] is None
    assert airflow_stack.wait_for_run(DAG_ID, run["dag_run_id"]) == "success"
    assert stack_registry.find_job(JobKey(DAG_ID, run["dag_run_id"], TASK_ID))["status"] == "succeeded"


def test_failed_task_cleared_and_rerun_adds_an_attempt_to_the_same_job(
    airflow_stack, stack_registry, tmp_path: Path
) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    late_input = tmp_path / "late.csv"
    run_id = airflow_stack.trigger(DAG_ID, conf={"input_path": str(late_input)})
    assert airflow_stack.wait_for_run(DAG_ID, run_id) == "failed"
    job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
    assert [(a["try_number"], a["status"], a["error_class"]) for a in job["attempts"]] == [
        (1, "failed", "InputNotFoundError")
    ]

    shutil.copy(EXAMPLE_DAGS / "data" / "transactions.csv", late_input)  # the input arrives
    airflow_stack.clear_failed(DAG_ID, run_id)
    assert airflow_stack.wait_for_run(DAG_ID, run_id) == "success"

    job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
    assert job["status"] == "succeeded"
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "failed"), (2, "succeeded")]
    events = AuditTrail(stack_registry).find(run_id=run_id)
    assert sorted((e["try_number"], e["outcome"]) for e in events) == [(1, "failed"), (2, "succeeded")]


def test_pools_helper_creates_and_resizes_engine_pools(airflow_stack) -> None:
    assert "pool enterprise_local: created with 3 slots" in orchestrator(
        airflow_stack, "pools", "create", "--local-slots", "3", "--spark-slots", "2"
    )
    assert "pool enterprise_spark: updated with 5 slots" in orchestrator(
        airflow_stack, "pools", "create", "--spark-slots", "5"
    )
    pool = airflow_stack.client.get("/api/v2/pools/enterprise_spark").json()
    assert pool["slots"] == 5


def test_trigger_form_params_choose_the_engine_and_airflow_refuses_a_bad_one(airflow_stack, stack_registry) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    params = airflow_stack.client.get(f"/api/v2/dags/{DAG_ID}/details").json()["params"]
    assert set(params) == {"input_path", "output_root", "engine"}  # the fields of the UI's trigger form
    assert (params["engine"]["value"], params["engine"]["schema"]["enum"]) == ("local", ["local", "spark", "auto"])

    refused = airflow_stack.client.post(
        f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"engine": "gpu"}}
    )
    assert refused.status_code == 400 and "gpu" in refused.text, refused.text

    run_id = airflow_stack.trigger(DAG_ID, conf={"engine": "auto"})
    assert airflow_stack.wait_for_run(DAG_ID, run_id) == "success"
    (attempt,) = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))["attempts"]
    assert attempt["spec"]["execution_engine"] == "auto"
    assert attempt["engine"] == "local" and attempt["routing"]["engine"] == "local"  # 10,000 rows: not worth Spark
