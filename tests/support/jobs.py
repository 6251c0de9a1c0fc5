"""Reading a DAG run's job, attempts and dead letters back from the registry."""

from __future__ import annotations

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue


def dead_letters_of(registry: EnterpriseMetadataHook, job_id: int) -> list[dict]:
    return [d for d in DeadLetterQueue(registry).find(limit=1000) if d["job_id"] == job_id]


def job_of(registry: EnterpriseMetadataHook, dag_run, task_id: str = "process") -> dict:
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, task_id))
    assert job is not None, f"no job registered for {dag_run.run_id}"
    return job
