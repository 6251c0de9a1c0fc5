"""Reading a DAG run's job, attempts and dead letters back from the registry."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue


def dead_letters_of(registry: EnterpriseMetadataHook, job_id: int) -> list[dict]:
    return [d for d in DeadLetterQueue(registry).find(limit=1000) if d["job_id"] == job_id]


def job_of(registry: EnterpriseMetadataHook, dag_run, task_id: str = "process") -> dict:
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, task_id))
    assert job is not None, f"no job registered for {dag_run.run_id}"
    return job


def running_attempts(
    registry: EnterpriseMetadataHook, keys: Iterable[JobKey], timeout: float = 180
) -> Iterator[tuple[JobKey, dict]]:
    """
    Yield each of ``keys`` with its job's running attempt (its task is in the engine) as soon as it has one, in the
    order they start: a job seen late could have ended before it was looked at.
    """
    pending = list(keys)
    deadline = time.monotonic() + timeout
    while pending:
        for key in list(pending):
            job = registry.find_job(key)
            running = [a for a in (job or {}).get("attempts", []) if a["status"] == "running"]
            if running:
                pending.remove(key)
                yield key, running[0]
        if pending:
            if time.monotonic() > deadline:
                raise AssertionError(f"no running attempt for {pending}")
            time.sleep(0.2)


def running_attempt(registry: EnterpriseMetadataHook, key: JobKey, timeout: float = 180) -> dict:
    """Wait until the job of ``key`` has a running attempt and return it."""
    ((_, attempt),) = running_attempts(registry, [key], timeout)
    return attempt
