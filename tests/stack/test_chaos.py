"""
Chaos on the real stack: poison inputs, task processes and supervisors SIGKILLed mid-run.

Every job must end succeeded or dead-lettered: nothing lost, no duplicate dead letters, and replaying every
dead letter twice creates one run each. CI-sized (11 jobs).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue, replay_run_id
from support.cli import orchestrator
from support.env import EXAMPLE_DAGS
from support.jobs import running_attempts

pytestmark = pytest.mark.stack

DAG_ID = "enterprise_daily_processing"
TASK_ID = "process_daily_data"
QUICK_JOBS = 6
SLOW_JOBS = 4  # the first half lose their task process, the second half their supervisor
POISON_JOBS = 1


def test_jobs_survive_killed_processes_and_poison_inputs(
    airflow_stack, stack_registry, slow_transactions: Path, tmp_path: Path
) -> None:
    airflow_stack.wait_for_dag(DAG_ID)
    sample = EXAMPLE_DAGS / "data" / "transactions.csv"
    runs: dict[str, str] = {}  # run id -> kind
    for i in range(SLOW_JOBS):
        conf = {"input_path": str(slow_transactions), "output_root": str(tmp_path / f"slow{i}")}
        runs[airflow_stack.trigger(DAG_ID, conf=conf)] = "kill_task" if i < SLOW_JOBS // 2 else "kill_supervisor"
    for i in range(QUICK_JOBS):
        runs[
            airflow_stack.trigger(DAG_ID, conf={"input_path": str(sample), "output_root": str(tmp_path / f"q{i}")})
        ] = "quick"
    for i in range(POISON_JOBS):
        runs[airflow_stack.trigger(DAG_ID, conf={"input_path": str(tmp_path / f"missing{i}.csv")})] = "poison"

    killed = {"kill_task": 0, "kill_supervisor": 0}
    victims = [JobKey(DAG_ID, run_id, TASK_ID) for run_id, kind in runs.items() if kind in killed]
    for key, attempt in running_attempts(stack_registry, victims):  # each killed as soon as it runs
        kind = runs[key.run_id]
        task_process = psutil.Process(attempt["pid"])
        victim = task_process if kind == "kill_task" else task_process.parent()
        os.kill(victim.pid, signal.SIGKILL)
        killed[kind] += 1

    states = {run_id: airflow_stack.wait_for_run(DAG_ID, run_id, timeout=300) for run_id in runs}
    time.sleep(2)
    orchestrator(airflow_stack, "dlq", "reconcile", "--stale-after", "1")

    queue = DeadLetterQueue(stack_registry)
    letters = [d for d in queue.find(dag_id=DAG_ID, limit=10_000) if d["run_id"] in runs]
    lettered_runs = [d["run_id"] for d in letters]
    outcome = {"succeeded": 0, "dead_lettered": 0, "lost": 0}
    for run_id in runs:
        job = stack_registry.find_job(JobKey(DAG_ID, run_id, TASK_ID))
        assert all(a["status"] != "running" for a in job["attempts"]), (run_id, job["attempts"])
        if states[run_id] == "success" and job["status"] == "succeeded":
            outcome["succeeded"] += 1
        elif states[run_id] == "failed" and run_id in lettered_runs:
            outcome["dead_lettered"] += 1
        else:
            outcome["lost"] += 1
    print(f"chaos: {len(runs)} jobs, killed {killed}, outcome {outcome}, dead letters {len(letters)}")
    assert outcome["lost"] == 0
    assert len(lettered_runs) == len(set(lettered_runs))  # no duplicate dead letters
    assert {runs[r] for r in lettered_runs} <= {"poison"} | set(killed)
    assert sum(1 for kind in runs.values() if kind == "poison") <= outcome["dead_lettered"]

    for letter in letters:  # replaying every dead letter twice creates one run each
        for _ in range(2):
            orchestrator(airflow_stack, "dlq", "replay", str(letter["dead_letter_id"]))
    replay_ids = {replay_run_id(d["dead_letter_id"]) for d in letters}
    all_runs = airflow_stack.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 1000}).json()["dag_runs"]
    assert sorted(r["dag_run_id"] for r in all_runs if r["dag_run_id"] in replay_ids) == sorted(replay_ids)
