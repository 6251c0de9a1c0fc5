"""
Data-quality check results in the registry: recorded per attempt (a job's detail, ``get_job``, shows them with
each attempt), and the run-time values the checks are judged against (the run's reference time for ``freshness``,
the last successful run's row counts for ``row_count``'s ``max_change_pct``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise import metrics
from airflow_provider_enterprise.registry.connection import reconnecting
from airflow_provider_enterprise.security.redaction import redact
from airflow_provider_enterprise.spec import JobSpec
from airflow_provider_enterprise.spec.checks import FreshnessCheck, RowCountCheck

if TYPE_CHECKING:
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey

_COLUMNS = (
    "position",
    "check_name",
    "check_type",
    "severity",
    "target",
    "outcome",
    "observed",
    "failing_rows",
    "message",
)


class CheckResults:
    """Service functions over the check results in the registry."""

    def __init__(self, hook: EnterpriseMetadataHook) -> None:
        self.hook = hook

    @reconnecting
    def record(self, attempt_id: int, results: Sequence[Mapping[str, Any]]) -> None:
        """Store the results (:class:`~airflow_provider_enterprise.compiler.checks.CheckResult` dicts) of an attempt."""
        if not results:
            return
        rows = [
            {
                "attempt_id": attempt_id,
                "position": position,
                "check_name": r["name"],
                "check_type": r["type"],
                "severity": r["severity"],
                "target": r["target"],
                "outcome": r["outcome"],
                "observed": json.dumps(redact(r["observed"]), default=str),
                "failing_rows": r["failing_rows"],
                "message": redact(r["message"])[:2_000],
            }
            for position, r in enumerate(results)
        ]
        with self.hook.transaction() as cur:
            cur.executemany(
                f"INSERT INTO enterprise_check_results (attempt_id, {', '.join(_COLUMNS)})"
                " VALUES (%(attempt_id)s, %(position)s, %(check_name)s, %(check_type)s, %(severity)s, %(target)s,"
                " %(outcome)s, %(observed)s::jsonb, %(failing_rows)s, %(message)s)"
                " ON CONFLICT (attempt_id, check_name) DO NOTHING",
                rows,
            )

    @reconnecting
    def previous_counts(self, key: JobKey) -> dict[str, int] | None:
        """
        The row counts of the last successful run of the same task (same DAG, task and map index, another run):
        ``output`` -> rows out and ``input:<name>`` -> records read; None when there is none.
        """
        with self.hook.transaction() as cur:
            cur.execute(
                "SELECT a.rows_out, a.inputs FROM enterprise_job_attempts a JOIN enterprise_jobs j USING (job_id)"
                " WHERE j.dag_id = %s AND j.task_id = %s AND j.map_index = %s AND j.run_id <> %s"
                " AND a.status = 'succeeded' ORDER BY a.finished_at DESC LIMIT 1",
                (key.dag_id, key.task_id, key.map_index, key.run_id),
            )
            row = cur.fetchone()
        if row is None:
            return None
        rows_out, inputs = row
        counts = {"output": rows_out} if rows_out is not None else {}
        for entry in inputs or []:
            if isinstance(entry, dict) and "records" in entry:
                counts[f"input:{entry['name']}"] = entry["records"]
        return counts


def with_run_values(spec: JobSpec, *, times: Mapping[str, datetime], previous: Mapping[str, int] | None) -> JobSpec:
    """
    Return ``spec`` with its checks' run-time values filled in: each ``freshness`` check's ``reference`` (unless the
    spec set one: the time of ``times`` its ``against`` names) and each ``row_count`` check's ``previous`` count of
    its relation (of ``previous``).
    """
    checks = []
    for check in spec.processing_logic.checks:
        if isinstance(check, FreshnessCheck) and check.reference is None:
            check = check.model_copy(update={"reference": times[check.against]})
        elif isinstance(check, RowCountCheck) and check.max_change_pct is not None and previous:
            check = check.model_copy(update={"previous": previous.get(check.target)})
        checks.append(check)
    logic = spec.processing_logic.model_copy(update={"checks": checks})
    return spec.model_copy(update={"processing_logic": logic})


def needs_previous_counts(spec: JobSpec) -> bool:
    """Whether a check of ``spec`` compares with the last successful run."""
    return any(isinstance(c, RowCountCheck) and c.max_change_pct is not None for c in spec.processing_logic.checks)


def report(results: Sequence[Mapping[str, Any]], *, dag_id: str, engine: str) -> None:
    """Count each check's outcome (:data:`~airflow_provider_enterprise.metrics.CHECKS`)."""
    for result in results:
        metrics.incr(
            metrics.CHECKS,
            outcome=result["outcome"],
            check=result["name"],
            check_type=result["type"],
            severity=result["severity"],
            dag_id=dag_id,
            engine=engine,
        )
