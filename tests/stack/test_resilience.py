"""Dead letters, replay and reconciliation on the real stack (tasks run in scheduler-spawned processes)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue, replay_run_id
from support.cli import orchestrator
from support.jobs import running_attempt
from support.stack import dead_letter_of_a_late_input

pytestmark = pytest.mark.stack

DAG_ID = "enterprise_daily_processing"
TASK_ID = "process_daily_data"
MAINTENANCE = "enterprise_maintenance"
REPLAY_DAG = "enterprise_dead_letter_replay"


def test_final_failure_is_dead_lettered_and_replayed_once(airflow_stack, stack_registry, tmp_path: Path) -> None:
    late_input = tmp_path / "late.csv"
    letter = dead_letter_of_a_late_input(airflow_stack, stack_registry, late_input)
    queue = DeadLetterQueue(stack_registry)
    dead_letter_id = str(letter["dead_letter_id"])
    assert "triggered run replay__dead_letter_" in orchestrator(airflow_stack, "dlq", "replay", dead_letter_id)
    assert "already triggered" in orchestrator(airflow_stack, "dlq", "replay", dead_letter_id)

    replay_run = replay_run_id(letter["dead_letter_id"])
    assert airflow_stack.wait_for_run(DAG_ID, replay_run) == "success"
    runs = airflow_stack.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100}).json()["dag_runs"]
    assert [r["dag_run_id"] for r in runs].count(replay_run) == 1
    replayed = stack_registry.find_job(JobKey(DAG_ID, replay_run, TASK_ID))
    (attempt,) = replayed["attempts"]
    assert attempt["spec"]["input_path"] == str(late_input)  # the recorded spec, not a re-rendered one
    assert attempt["status"] == "succeeded"
    final = queue.get(letter["dead_letter_id"])
    assert (final["status"], final["replay_run_id"]) == ("superseded", replay_run)
    assert f"{letter['dead_letter_id']}" in orchestrator(airflow_stack, "dlq", "list", "--status", "superseded")


def test_killed_task_process_is_retried_and_reconciled(airflow_stack, stack_registry, slow_transactions: Path) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    run_id = airflow_stack.trigger(DAG_ID, conf={"input_path": str(slow_transactions)})
    key = JobKey(DAG_ID, run_id, TASK_ID)
    attempt = running_attempt(stack_registry, key, timeout=120)
    os.kill(attempt["pid"], signal.SIGKILL)  # no callback, no registry write: only Airflow sees it die

    assert airflow_stack.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    job = stack_registry.find_job(key)
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "running"), (2, "succeeded")]

    time.sleep(2)
    # The maintenance DAG reads task states through the Task SDK ...
    airflow_stack.wait_for_dag(MAINTENANCE)
    sweep = airflow_stack.trigger(MAINTENANCE, conf={"stale_after": 1})
    assert airflow_stack.wait_for_run(MAINTENANCE, sweep) == "success"
    report = airflow_stack.client.get(
        f"/api/v2/dags/{MAINTENANCE}/dagRuns/{sweep}/taskInstances/reconcile_registry/xcomEntries/return_value"
    ).json()["value"]
    assert (report["failed_attempts"], report["dead_letters"]) == (1, 0)
    job = stack_registry.find_job(key)
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "failed"), (2, "succeeded")]
    assert job["attempts"][0]["error_class"] == "LostTaskError"

    # ... the CLI through the REST API; both are idempotent.
    assert "checked 0 silent attempts" in orchestrator(airflow_stack, "dlq", "reconcile", "--stale-after", "1")
    silent = stack_registry.start_attempt(job["job_id"], 9)  # an attempt Airflow never ran (TI is on try 2)
    with stack_registry.transaction() as cur:
        cur.execute(
            "UPDATE enterprise_job_attempts SET heartbeat_at = now() - interval '1 hour' WHERE attempt_id = %s",
            (silent.attempt_id,),
        )
    assert "1 marked failed, 0 dead-lettered" in orchestrator(airflow_stack, "dlq", "reconcile", "--stale-after", "1")
    assert stack_registry.find_job(key)["attempts"][-1]["status"] == "failed"


def test_replay_dag_replays_a_dead_letter_once(airflow_stack, stack_registry, tmp_path: Path) -> None:
    airflow_stack.wait_for_dag(REPLAY_DAG)
    letter = dead_letter_of_a_late_input(airflow_stack, stack_registry, tmp_path / "late.csv")
    queue = DeadLetterQueue(stack_registry)

    replays = [airflow_stack.trigger(REPLAY_DAG, conf={"dead_letter_id": letter["dead_letter_id"]}) for _ in range(2)]
    assert [airflow_stack.wait_for_run(REPLAY_DAG, r) for r in replays] == ["success", "success"]
    task_states = [
        airflow_stack.client.get(f"/api/v2/dags/{REPLAY_DAG}/dagRuns/{r}/taskInstances/replay").json()["state"]
        for r in replays
    ]
    assert sorted(task_states) == ["skipped", "success"]  # racing replays: one triggers, the other finds its run

    replay_run = replay_run_id(letter["dead_letter_id"])
    assert airflow_stack.wait_for_run(DAG_ID, replay_run) == "success"
    assert queue.get(letter["dead_letter_id"])["status"] == "superseded"
