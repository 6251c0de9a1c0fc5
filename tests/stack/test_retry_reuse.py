"""
A retry never publishes its job's output again when an earlier try of the task instance committed it (the try was
SIGKILLed after the commit, before Airflow heard it succeed); a task a user clears after success runs again.
The DAG: tests/stack/dags/retry_reuse_dags.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from support.stack import StackError

pytestmark = pytest.mark.stack

DAG_ID, TASK_ID = "stack_retry_after_commit", "process"


def _output(airflow_stack, name: str) -> Path:
    return Path(airflow_stack.env["ENTERPRISE_OUTPUT_DIR"]) / "retry_reuse" / name


def _commits(output: Path) -> list[tuple[int, str]]:
    """(try, ``_SUCCESS`` token) of each try that reached the end of its job, in order."""
    lines = output.with_name(output.name + ".commits").read_text().split()
    return [(int(t), token) for t, token in zip(lines[::2], lines[1::2], strict=True)]


def _asset_events(airflow_stack, run_id: str) -> list[dict]:
    events = airflow_stack.client.get("/api/v2/assets/events", params={"source_dag_id": DAG_ID, "limit": 100})
    return [e for e in events.json()["asset_events"] if e["source_run_id"] == run_id]


def _xcom(airflow_stack, run_id: str) -> dict:
    return airflow_stack.client.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/return_value"
    ).json()["value"]


def _run(airflow_stack, name: str, kill_at: str) -> str:
    airflow_stack.wait_for_dag(DAG_ID)
    run_id = airflow_stack.trigger(DAG_ID, conf={"name": name, "kill_at": kill_at})
    assert airflow_stack.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    return run_id


@pytest.mark.parametrize("kill_at", ["recorded", "commit"])
def test_a_retry_reuses_the_output_its_killed_try_committed(airflow_stack, stack_registry, kill_at: str) -> None:
    name = f"killed_at_{kill_at}"
    run_id = _run(airflow_stack, name, kill_at)
    output = _output(airflow_stack, name)

    job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
    first, second = job["attempts"]
    # try 1 committed and died; try 2 found its commit and published nothing
    commits = _commits(output)
    assert [t for t, _ in commits] == [1, 2]
    assert commits[0][1] == commits[1][1], f"published twice: {commits}, tries {job['attempts']}"
    token = commits[0][1]
    assert json.loads((output / "_SUCCESS").read_text())["token"] == token
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["run_id"].startswith(f"enterprise-{job['job_id']}-1-")
    assert first["status"] == ("succeeded" if kill_at == "recorded" else "running")
    assert second["status"] == "succeeded"
    assert second["external_id"] == manifest["run_id"]  # the commit it reused
    assert (second["rows_in"], second["rows_out"], second["bad_rows"]) == (
        manifest["rows_in"],
        manifest["rows_out"],
        manifest["bad_rows"],
    )
    assert second["rows_in"] == 10_000 and second["rows_out"] > 0
    if kill_at == "recorded":
        assert (first["rows_in"], first["rows_out"], first["external_id"]) == (
            second["rows_in"],
            second["rows_out"],
            second["external_id"],
        )

    xcom = _xcom(airflow_stack, run_id)
    assert (xcom["try_number"], xcom["rows_out"], xcom["external_id"]) == (2, manifest["rows_out"], manifest["run_id"])
    (event,) = _asset_events(airflow_stack, run_id)  # try 1 never told Airflow it succeeded: one event, try 2's
    assert (event["extra"]["rows_out"], event["extra"]["bad_rows"]) == (manifest["rows_out"], manifest["bad_rows"])
    assert event["extra"]["manifest"] == f"{output}/_manifest.json"


def test_a_task_cleared_after_success_runs_again(airflow_stack, stack_registry) -> None:
    run_id = _run(airflow_stack, "cleared", "never")
    output = _output(airflow_stack, "cleared")
    response = airflow_stack.client.post(
        f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
        json={"dag_run_id": run_id, "task_ids": [TASK_ID], "only_failed": False, "dry_run": False},
    )
    if response.status_code >= 400:
        raise StackError(f"clear refused: {response.status_code} {response.text}")
    deadline = time.monotonic() + 180
    while len(_commits(output)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    assert airflow_stack.wait_for_run(DAG_ID, run_id, timeout=180) == "success"

    commits = _commits(output)
    assert [t for t, _ in commits] == [1, 2] and commits[0][1] != commits[1][1]  # published again
    job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "succeeded"), (2, "succeeded")]
    first, second = job["attempts"]
    assert first["external_id"] != second["external_id"]
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["run_id"] == second["external_id"]
    assert len(_asset_events(airflow_stack, run_id)) == 2
