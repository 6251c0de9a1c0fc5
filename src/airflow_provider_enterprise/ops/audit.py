"""
The audit trail: one append-only event per finished job attempt, written by the registry itself.

A database trigger (migration ``0005_audit_and_roles``) appends the event in the transaction that finishes the
attempt, whether the operator or the reconciliation sweep finishes it: who or what triggered the DAG run, the
inputs read and the output written (paths, row counts), when, and the outcome. The application role may read
and append events, never change or delete them. This module reads them, for the CLI and the plugin API.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypedDict, Unpack

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.registry.connection import reconnecting
from airflow_provider_enterprise.registry.queries import Listing, filter_params

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


class AuditFilters(TypedDict, total=False):
    """
    What :meth:`AuditTrail.find` and :meth:`AuditTrail.count` filter by (each omitted or None: no filter).

    ``path``: events whose output or one of whose inputs is this path or lies below it; ``user``: runs this user
    triggered (``scheduled`` etc. for runs no user triggered); ``dag_ids``: events of these DAGs only (the DAGs
    the caller may read).
    """

    path: str | None
    user: str | None
    dag_id: str | None
    dag_ids: Collection[str] | None
    run_id: str | None
    outcome: str | None


#: Audit events, newest first.
AUDIT_LISTING = Listing("enterprise_audit_events", AUDIT_FILTER, "recorded_at DESC, audit_id DESC")


def _params(filters: AuditFilters) -> dict[str, Any]:
    """The query parameters of :data:`AUDIT_FILTER`."""
    return filter_params(filters, AuditFilters)


class AuditTrail:
    """Read the registry's audit events."""

    def __init__(self, hook: EnterpriseMetadataHook) -> None:
        self.hook = hook

    @reconnecting
    def find(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[AuditFilters]) -> list[dict[str, Any]]:
        """Return audit events matching ``filters`` (:class:`AuditFilters`), newest first."""
        return AUDIT_LISTING.page(self.hook, _params(filters), limit=limit, offset=offset)

    @reconnecting
    def count(self, **filters: Unpack[AuditFilters]) -> int:
        """Return how many events :meth:`find` would return without a limit."""
        return AUDIT_LISTING.count(self.hook, _params(filters))
