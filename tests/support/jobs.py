"""Reading a DAG run's job, attempts and dead letters back from the registry."""

from __future__ import annotations

import time

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue


def dead_letters_of(registry: EnterpriseMetadataHook, job_id: int) -> list[dict]:
    return [d for d in DeadLetterQueue(registry).find(limit=1000) if d["job_id"] == job_id]


def job_of(registry: EnterpriseMetadataHook, dag_run, task_id: str = "process") -> dict:
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, task_id))
    assert job is not None, f"no job registered for {dag_run.run_id}"
    return job


def running_attempt(registry: EnterpriseMetadataHook, key: JobKey, timeout: float = 180) -> dict:
    """Wait until the job of ``key`` has a running attempt (its task is in the engine) and return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = registry.find_job(key)
        running = [a for a in (job or {}).get("attempts", []) if a["status"] == "running"]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError(f"no running attempt for {key}")
