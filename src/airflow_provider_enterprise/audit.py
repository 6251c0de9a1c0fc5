"""
The audit trail: one append-only event per finished job attempt, written by the registry itself.

A database trigger (migration ``0005_audit_and_roles``) appends the event in the transaction that finishes the
attempt, whether the operator or the reconciliation sweep finishes it: who or what triggered the DAG run, the
inputs read and the output written (paths, row counts), when, and the outcome. The application role may read
and append events, never change or delete them. This module reads them, for the CLI and the plugin API.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, reconnecting

#: Filters of :meth:`AuditTrail.find`; a path matches an input or the output at or below it.
AUDIT_FILTER = (
    "(%(dag_id)s::text IS NULL OR dag_id = %(dag_id)s)"
    " AND (%(dag_ids)s::text[] IS NULL OR dag_id = ANY(%(dag_ids)s::text[]))"
    " AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s)"
    " AND (%(user)s::text IS NULL OR triggered_by = %(user)s)"
    " AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)"
    " AND (%(path)s::text IS NULL OR starts_with(output_path, %(path)s)"
    " OR EXISTS (SELECT 1 FROM jsonb_array_elements(inputs) AS i WHERE starts_with(i ->> 'path', %(path)s)))"
)


def _params(
    *,
    path: str | None,
    user: str | None,
    dag_id: str | None,
    dag_ids: Collection[str] | None,
    run_id: str | None,
    outcome: str | None,
    **page: int,
) -> dict[str, Any]:
    return {
        "path": path,
        "user": user,
        "dag_id": dag_id,
        "dag_ids": None if dag_ids is None else sorted(dag_ids),
        "run_id": run_id,
        "outcome": outcome,
        **page,
    }


class AuditTrail:
    """Read the registry's audit events."""

    def __init__(self, hook: EnterpriseMetadataHook) -> None:
        self.hook = hook

    @reconnecting
    def find(
        self,
        *,
        path: str | None = None,
        user: str | None = None,
        dag_id: str | None = None,
        dag_ids: Collection[str] | None = None,
        run_id: str | None = None,
        outcome: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """
        Return audit events, newest first.

        :param path: only events whose output or one of whose inputs is this path or lies below it.
        :param user: only runs this user triggered (``scheduled`` etc. for runs no user triggered).
        :param dag_ids: only events of these DAGs (the DAGs the caller may read).
        """
        params = _params(
            path=path,
            user=user,
            dag_id=dag_id,
            dag_ids=dag_ids,
            run_id=run_id,
            outcome=outcome,
            limit=limit,
            offset=offset,
        )
        with self.hook._transaction() as cur:
            cur.execute(
                f"SELECT * FROM enterprise_audit_events WHERE {AUDIT_FILTER}"  # noqa: S608 - a fixed fragment
                " ORDER BY recorded_at DESC, audit_id DESC LIMIT %(limit)s OFFSET %(offset)s",
                params,
            )
            return self.hook._dicts(cur)

    @reconnecting
    def count(
        self,
        *,
        path: str | None = None,
        user: str | None = None,
        dag_id: str | None = None,
        dag_ids: Collection[str] | None = None,
        run_id: str | None = None,
        outcome: str | None = None,
    ) -> int:
        """Return how many events :meth:`find` would return without a limit."""
        params = _params(path=path, user=user, dag_id=dag_id, dag_ids=dag_ids, run_id=run_id, outcome=outcome)
        with self.hook._transaction() as cur:
            cur.execute(f"SELECT count(*) FROM enterprise_audit_events WHERE {AUDIT_FILTER}", params)  # noqa: S608
            return int(cur.fetchone()[0])
