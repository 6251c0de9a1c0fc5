"""Reading the registry's jobs: filtered listings (a page and its count from one filter), one job in full."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from airflow_provider_enterprise.registry.attempts import JobKey
from airflow_provider_enterprise.registry.connection import RegistryConnection, dict_rows, reconnecting

#: The filters of job and dead-letter listings: each applies only when its parameter is not NULL.
LISTING_FILTER = (
    "(%(dag_id)s::text IS NULL OR dag_id = %(dag_id)s)"
    " AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s)"
    " AND (%(status)s::text IS NULL OR status = %(status)s)"
    " AND (%(dag_ids)s::text[] IS NULL OR dag_id = ANY(%(dag_ids)s::text[]))"
)


class ListingFilters(TypedDict, total=False):
    """What job and dead-letter listings filter by (each omitted or None: no filter); ``dag_ids``: only rows of
    these DAGs (the DAGs the caller may read)."""

    dag_id: str | None
    status: str | None
    dag_ids: Collection[str] | None
    run_id: str | None


def filter_params(filters: Mapping[str, Any], allowed: type) -> dict[str, Any]:
    """
    Return the query parameters of a listing's filter: each filter ``allowed`` (a TypedDict) names, given or None
    (``dag_ids`` as a sorted list).

    :raises TypeError: naming the filters ``allowed`` does not have.
    """
    unknown = set(filters) - set(allowed.__annotations__)
    if unknown:
        raise TypeError(f"unknown filters: {', '.join(sorted(unknown))}")
    params = {name: filters.get(name) for name in allowed.__annotations__}
    dag_ids = params.get("dag_ids")
    if dag_ids is not None:
        params["dag_ids"] = sorted(dag_ids)
    return params


def listing_params(**filters: Any) -> dict[str, Any]:
    """Return the query parameters of :data:`LISTING_FILTER` (:class:`ListingFilters`)."""
    return filter_params(filters, ListingFilters)


@dataclass(frozen=True)
class Listing:
    """
    A filtered listing of one registry relation: a page of its rows and their count, from one filter, so that a
    page and its count never disagree.

    :param relation: the table or view listed.
    :param where: the filter, with named parameters (each applies only when its parameter is not NULL).
    :param order: the page's order (newest first, with a unique tie-breaker).
    :param columns: the columns of a page's rows.
    """

    relation: str
    where: str
    order: str
    columns: str = "*"

    def page(
        self, hook: RegistryConnection, params: Mapping[str, Any], *, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Return one page of the rows that match ``params``, in the listing's order."""
        with hook.transaction() as cur:
            cur.execute(
                f"SELECT {self.columns} FROM {self.relation} WHERE {self.where}"  # noqa: S608 - fixed fragments
                f" ORDER BY {self.order} LIMIT %(limit)s OFFSET %(offset)s",
                {**params, "limit": limit, "offset": offset},
            )
            return dict_rows(cur)

    def count(self, hook: RegistryConnection, params: Mapping[str, Any]) -> int:
        """Return how many rows match ``params`` (what :meth:`page` would return without a limit)."""
        with hook.transaction() as cur:
            cur.execute(f"SELECT count(*) FROM {self.relation} WHERE {self.where}", dict(params))  # noqa: S608
            return int(cur.fetchone()[0])


#: Jobs with their derived status, newest first.
JOB_LISTING = Listing("enterprise_job_status", LISTING_FILTER, "created_at DESC, job_id DESC")


class RegistryQueries(RegistryConnection):
    """List, count and read jobs with their attempts."""

    @reconnecting
    def list_jobs(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[ListingFilters]) -> list[dict[str, Any]]:
        """Return jobs matching ``filters`` (:class:`ListingFilters`) with their derived status, newest first."""
        return JOB_LISTING.page(self, listing_params(**filters), limit=limit, offset=offset)

    @reconnecting
    def count_jobs(self, **filters: Unpack[ListingFilters]) -> int:
        """Return how many jobs :meth:`list_jobs` would return without a limit."""
        return JOB_LISTING.count(self, listing_params(**filters))

    @reconnecting
    def dag_ids(self) -> list[str]:
        """Return the DAG ids that have jobs in the registry."""
        with self.transaction() as cur:
            cur.execute("SELECT DISTINCT dag_id FROM enterprise_jobs ORDER BY dag_id")
            return [row[0] for row in cur.fetchall()]

    @reconnecting
    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """Return one job with its derived status and its attempts (oldest first), each with its data-quality check
        results (``checks``, see :mod:`airflow_provider_enterprise.check_results`), or None."""
        with self.transaction() as cur:
            cur.execute("SELECT * FROM enterprise_job_status WHERE job_id = %s", (job_id,))
            jobs = dict_rows(cur)
            if not jobs:
                return None
            cur.execute("SELECT * FROM enterprise_job_attempts WHERE job_id = %s ORDER BY try_number", (job_id,))
            attempts = dict_rows(cur)
            cur.execute(
                "SELECT r.attempt_id, r.check_name AS name, r.check_type AS type, r.severity, r.target, r.outcome,"
                " r.observed, r.failing_rows, r.message FROM enterprise_check_results r"
                " JOIN enterprise_job_attempts a USING (attempt_id) WHERE a.job_id = %s"
                " ORDER BY r.attempt_id, r.position",
                (job_id,),
            )
            checks: dict[int, list[dict[str, Any]]] = {}
            for row in dict_rows(cur):
                checks.setdefault(row.pop("attempt_id"), []).append(row)
            for attempt in attempts:
                attempt["checks"] = checks.get(attempt["attempt_id"], [])
            return {**jobs[0], "attempts": attempts}

    @reconnecting
    def find_job(self, key: JobKey) -> dict[str, Any] | None:
        """Return the job of ``key`` with its attempts, or None."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT job_id FROM enterprise_jobs"
                " WHERE dag_id = %s AND run_id = %s AND task_id = %s AND map_index = %s",
                (key.dag_id, key.run_id, key.task_id, key.map_index),
            )
            row = cur.fetchone()
        return self.get_job(int(row[0])) if row else None
