"""
Registry maintenance: complete what killed task processes could not write, and purge what is past retention.

Task callbacks do not fire when a task process is SIGKILLed or OOM-killed. ``reconcile_registry`` finds
attempts whose heartbeat stopped, reads their task instances' states through the Task SDK (never Airflow's
database), fails the attempts Airflow no longer runs and dead-letters those that failed for good. Idempotent.
``purge_registry`` deletes finished jobs with their attempts, dead letters and audit events past the configured
retention (``retention`` and ``dead_letters`` settings), in small batches that do not block the jobs' writes,
pausing between them by ``retention.purge_duty_cycle`` so that the jobs' writes keep their latency.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="enterprise_maintenance",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["enterprise", "maintenance"],
    params={
        "stale_after": Param(300, type="number", minimum=1, description="Seconds without heartbeat."),
        "older_than": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d+(\.\d+)?[dh]$",
            description="Purge jobs, dead letters and stream messages older than this (90d, 12h); default: the"
            " configured retention.",
        ),
    },
)
def enterprise_maintenance():
    @task
    def reconcile_registry(params=None, ti=None) -> dict:
        from dataclasses import asdict

        from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
        from airflow_provider_enterprise.resilience.dead_letter import reconcile

        def read_state(dag_id: str, run_id: str, task_id: str, map_index: int):
            states = ti.get_task_states(
                dag_id=dag_id, run_ids=[run_id], task_ids=[task_id], map_index=map_index if map_index >= 0 else None
            )
            state = states.get(run_id, {}).get(task_id if map_index < 0 else f"{task_id}_{map_index}")
            return None if state is None else (state, None)

        return asdict(reconcile(EnterpriseMetadataHook(), read_state, stale_after=float(params["stale_after"])))

    @task
    def purge_registry(params=None) -> dict:
        from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
        from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy, parse_duration

        hook = EnterpriseMetadataHook()
        older_than = parse_duration(params["older_than"]) if params["older_than"] else None
        report = RegistryRetention(hook).purge(RetentionPolicy.configured(hook.settings, older_than))
        return {"rows": report.rows, "kept": report.kept, "seconds": report.seconds, "paused": report.paused_seconds}

    reconcile_registry() >> purge_registry()


enterprise_maintenance()
