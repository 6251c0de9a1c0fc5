"""
The dead-letter queue: one row per final failure of a job, replay, and reconciliation.

A job that fails for good (a permanent error, or its last allowed try) gets exactly one dead letter keyed on
(job, final try number). A later success of the same job (a cleared task) or of its replay marks it
``superseded``. Replays create a new DAG run whose id is derived from the dead letter, so replaying twice
creates one run. Reconciliation completes what a killed task process could not write.
"""

from __future__ import annotations

import logging
import os
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

from airflow_provider_enterprise import metrics
from airflow_provider_enterprise.exceptions import EnterpriseError
from airflow_provider_enterprise.registry.connection import dict_rows, reconnecting
from airflow_provider_enterprise.registry.queries import LISTING_FILTER, Listing, ListingFilters, listing_params
from airflow_provider_enterprise.security.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

log = logging.getLogger(__name__)

#: The key in a DAG run's conf that carries a replay: ``{"dead_letter_id": ..., "task_id": ..., "spec": {...}}``.
REPLAY_CONF_KEY = "enterprise_replay"


#: Dead letters with their specs, newest first.
DEAD_LETTER_LISTING = Listing(
    "enterprise_dead_letters",
    LISTING_FILTER,
    "dead_letter_id DESC",
    columns="dead_letter_id, job_id, try_number, dag_id, run_id, task_id, map_index, error_class, error_message,"
    " attempt_count, first_failure_at, last_failure_at, status, replay_run_id, created_at, spec",
)


class DeadLetterError(EnterpriseError):
    """A dead-letter operation that does not apply (unknown id, wrong status)."""


class DeadLetterNotFound(DeadLetterError):
    """No dead letter has this id."""


class DeadLetterQueue:
    """Service functions over the dead letters in the registry."""

    def __init__(self, hook: EnterpriseMetadataHook) -> None:
        self.hook = hook

    @reconnecting
    def add(self, attempt_id: int, error: BaseException) -> int | None:
        """
        Dead-letter the failed attempt ``attempt_id``; return the new id, or None if it already was.

        Only the job's latest dead-lettered try stays open: an earlier try's open dead letter is superseded (a try
        whose supervisor died wrote one, and Airflow retried it), whichever of the two is written first.
        """
        trace = "".join(tb.format_exception(error))[-20_000:]
        with self.hook.transaction() as cur:
            cur.execute(  # one job's dead letters are written one at a time
                "SELECT j.job_id FROM enterprise_jobs j JOIN enterprise_job_attempts a USING (job_id)"
                " WHERE a.attempt_id = %s FOR NO KEY UPDATE OF j",
                (attempt_id,),
            )
            cur.execute(
                "INSERT INTO enterprise_dead_letters (job_id, try_number, dag_id, run_id, task_id, map_index, spec,"
                " error_class, error_message, traceback, attempt_count, first_failure_at, last_failure_at)"
                " SELECT j.job_id, a.try_number, j.dag_id, j.run_id, j.task_id, j.map_index, %(spec)s::jsonb,"
                " %(error_class)s, %(message)s, %(traceback)s,"
                " (SELECT count(*) FROM enterprise_job_attempts c WHERE c.job_id = j.job_id),"
                " (SELECT min(coalesce(c.finished_at, now())) FROM enterprise_job_attempts c"
                "  WHERE c.job_id = j.job_id AND c.status = 'failed'),"
                " coalesce(a.finished_at, now())"
                " FROM enterprise_job_attempts a JOIN enterprise_jobs j USING (job_id)"
                " WHERE a.attempt_id = %(attempt_id)s"
                " ON CONFLICT ON CONSTRAINT enterprise_dead_letters_final_failure DO NOTHING"
                " RETURNING dead_letter_id",
                {
                    "attempt_id": attempt_id,
                    "spec": _json(redact(self._attempt_spec(cur, attempt_id))),
                    "error_class": type(error).__name__,
                    "message": redact(str(error))[:10_000],
                    "traceback": redact(trace),
                },
            )
            row = cur.fetchone()
            cur.execute(
                "UPDATE enterprise_dead_letters d SET status = 'superseded', resolved_at = now()"
                " FROM enterprise_job_attempts a WHERE a.attempt_id = %s AND d.job_id = a.job_id"
                " AND d.status = 'open' AND d.try_number < (SELECT max(l.try_number) FROM enterprise_dead_letters l"
                " WHERE l.job_id = a.job_id)",
                (attempt_id,),
            )
        return int(row[0]) if row else None

    @staticmethod
    def _attempt_spec(cur: Any, attempt_id: int) -> Any:
        cur.execute("SELECT spec FROM enterprise_job_attempts WHERE attempt_id = %s", (attempt_id,))
        row = cur.fetchone()
        return row[0] if row else None

    @reconnecting
    def supersede(self, job_id: int, *, dead_letter_id: int | None = None) -> int:
        """Mark the job's unresolved dead letters (or one replayed dead letter) superseded; return how many."""
        with self.hook.transaction() as cur:
            cur.execute(
                "UPDATE enterprise_dead_letters SET status = 'superseded', resolved_at = now()"
                " WHERE status IN ('open', 'replayed')"
                " AND (job_id = %(job_id)s OR dead_letter_id = %(dead_letter_id)s)",
                {"job_id": job_id, "dead_letter_id": dead_letter_id},
            )
            return int(cur.rowcount)

    @reconnecting
    def find(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[ListingFilters]) -> list[dict[str, Any]]:
        """
        Return dead letters matching ``filters`` (:class:`~.registry.queries.ListingFilters`), newest first, with
        their specs: showing them masks the job's secrets in the error messages too
        (:func:`~airflow_provider_enterprise.security.redaction.redact`).
        """
        return DEAD_LETTER_LISTING.page(self.hook, listing_params(**filters), limit=limit, offset=offset)

    @reconnecting
    def count(self, **filters: Unpack[ListingFilters]) -> int:
        """Return how many dead letters :meth:`find` would return without a limit."""
        return DEAD_LETTER_LISTING.count(self.hook, listing_params(**filters))

    @reconnecting
    def get(self, dead_letter_id: int) -> dict[str, Any]:
        """Return one dead letter with its spec and traceback."""
        with self.hook.transaction() as cur:
            cur.execute("SELECT * FROM enterprise_dead_letters WHERE dead_letter_id = %s", (dead_letter_id,))
            rows = dict_rows(cur)
        if not rows:
            raise DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")
        return rows[0]

    def _resolve(
        self, dead_letter_id: int, target: str, extra_sql: str = "", params: dict[str, Any] | None = None
    ) -> None:
        with self.hook.transaction() as cur:
            cur.execute(
                f"UPDATE enterprise_dead_letters SET status = %(target)s{extra_sql}"  # noqa: S608 - fixed fragments
                " WHERE dead_letter_id = %(id)s AND status = 'open'",
                {"target": target, "id": dead_letter_id, **(params or {})},
            )
            if cur.rowcount == 1:
                return
        current = self.get(dead_letter_id)["status"]
        raise DeadLetterError(f"dead letter {dead_letter_id} is {current}, not open: cannot mark it {target}")

    @reconnecting
    def discard(self, dead_letter_id: int) -> None:
        """Resolve an open dead letter without replaying it."""
        self._resolve(dead_letter_id, "discarded", ", resolved_at = now()")

    def prepare_replay(self, dead_letter_id: int) -> tuple[dict[str, Any], str, dict[str, Any], bool]:
        """
        Return the dead letter, its replay run id, the run conf that replays it, and whether it was replayed before.

        The conf is the same for every caller, so whichever of two racing replays creates the run, the run
        replays the dead letter.

        :raises DeadLetterError: when the dead letter is resolved without a replay (discarded, or superseded by
            a later success of its job).
        """
        letter = self.get(dead_letter_id)
        run_id = replay_run_id(dead_letter_id)
        replayed_before = letter["replay_run_id"] == run_id  # (and maybe already superseded by it)
        if not replayed_before and letter["status"] != "open":
            raise DeadLetterError(f"dead letter {dead_letter_id} is {letter['status']}: nothing to replay")
        conf = {
            REPLAY_CONF_KEY: {
                "dead_letter_id": dead_letter_id,
                "task_id": letter["task_id"],
                "map_index": letter["map_index"],
                "spec": letter["spec"],
            }
        }
        return letter, run_id, conf, replayed_before

    @reconnecting
    def mark_replayed(self, letter: dict[str, Any], run_id: str) -> None:
        """Record the replay run of an open dead letter (a concurrent replay recorded the same run id)."""
        try:
            self._resolve(
                letter["dead_letter_id"],
                "replayed",
                ", replay_run_id = %(run_id)s, replayed_at = now()",
                {"run_id": run_id},
            )
        except DeadLetterError:
            return
        metrics.incr(metrics.REPLAYS, dag_id=letter["dag_id"])

    def replay(self, dead_letter_id: int, api: AirflowApiClient) -> ReplayResult:
        """
        Trigger a new run of the dead letter's DAG (REST API) that reruns its task with the recorded spec.

        Idempotent: the run id is derived from the dead letter, so a second replay creates nothing.
        """
        letter, run_id, conf, replayed_before = self.prepare_replay(dead_letter_id)
        if replayed_before:
            return ReplayResult(dead_letter_id, letter["dag_id"], run_id, created=False)
        created = api.trigger_run(letter["dag_id"], run_id, conf)
        self.mark_replayed(letter, run_id)
        return ReplayResult(dead_letter_id, letter["dag_id"], run_id, created)


@dataclass(frozen=True)
class ReplayResult:
    dead_letter_id: int
    dag_id: str
    run_id: str
    created: bool


def replay_run_id(dead_letter_id: int) -> str:
    """The run id of a dead letter's replay (one per dead letter)."""
    return f"replay__dead_letter_{dead_letter_id}"


def _json(value: Any) -> str | None:
    import json

    return None if value is None else json.dumps(value, default=str)


#: Reads Airflow's state of a task instance: (dag_id, run_id, task_id, map_index) -> (state, try_number) or None.
TaskStateReader = Callable[[str, str, str, int], "tuple[str, int | None] | None"]

#: Airflow states after which a registry attempt can no longer be running.
_FINISHED_STATES = ("failed", "upstream_failed", "up_for_retry", "success", "skipped", "removed")
#: Airflow states after which no try of the task runs again, so no retry re-attaches to the attempt's application.
_ENDED_STATES = frozenset(_FINISHED_STATES) - {"up_for_retry"}

#: Stops an attempt's cluster-mode application if it still runs: (status_api, external_id) -> whether it ran.
ApplicationStopper = Callable[[dict[str, Any], str], bool]


def stop_spark_application(status_api: dict[str, Any], external_id: str) -> bool:
    """Kill a cluster-mode Spark application that has not ended; return whether it was still running."""
    from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker

    return SparkApplicationTracker.from_status_api(status_api).stop_if_active(external_id).active


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    failed_attempts: int
    dead_letters: int
    #: Applications still running for a task instance that had ended: stopped.
    stopped_applications: int = 0


def reconcile(
    hook: EnterpriseMetadataHook,
    read_state: TaskStateReader,
    *,
    stale_after: float,
    stop_application: ApplicationStopper = stop_spark_application,
) -> ReconcileReport:
    """
    Complete the registry for attempts whose task process died without reporting.

    Finds running attempts whose heartbeat is older than ``stale_after`` seconds, asks Airflow for the task
    instance's state, and fails attempts Airflow no longer runs; an attempt whose task instance failed for good
    is dead-lettered. When the task instance has ended for good (no retry left to re-attach or clean up), the
    attempt's cluster-mode application is stopped if it still runs (a task marked failed while deferred, before
    any triggerer ran its trigger, leaves one behind), and the staging directories its job's tries left beside a
    local output are removed (:func:`remove_abandoned_staging`; a try killed while it wrote leaves one, which
    only a later try of the job would otherwise remove). Idempotent: guarded transitions and the dead letters'
    unique key make reruns no-ops.
    """
    from airflow_provider_enterprise.exceptions import InvalidTransitionError

    with hook.transaction() as cur:
        cur.execute(
            "SELECT a.attempt_id, a.job_id, a.try_number, a.external_id, a.status_api,"
            " a.spec ->> 'output_path' AS output_path, j.dag_id, j.run_id, j.task_id, j.map_index"
            " FROM enterprise_job_attempts a JOIN enterprise_jobs j USING (job_id)"
            " WHERE a.status = 'running' AND a.heartbeat_at < now() - make_interval(secs => %s)",
            (stale_after,),
        )
        stale = dict_rows(cur)
    failed = lettered = stopped = 0
    queue = DeadLetterQueue(hook)
    for attempt in stale:
        found = read_state(attempt["dag_id"], attempt["run_id"], attempt["task_id"], attempt["map_index"])
        if found is None:
            state, try_number = "removed", None
        else:
            state, try_number = found
        moved_on = try_number is not None and try_number > attempt["try_number"]
        if state not in _FINISHED_STATES and not moved_on:
            continue
        if state in _ENDED_STATES and attempt["status_api"] and attempt["external_id"]:
            stopped += _stop(stop_application, attempt)
        if state in _ENDED_STATES and not moved_on:
            _remove_staging(attempt)
        error = LostTaskError(
            f"task process stopped heartbeating; Airflow reports the task instance {state} "
            f"(try {try_number if try_number is not None else '?'})"
        )
        try:
            hook.fail_attempt(attempt["attempt_id"], error)
            failed += 1
        except InvalidTransitionError:
            continue  # completed meanwhile
        if state == "failed" and not moved_on and queue.add(attempt["attempt_id"], error) is not None:
            lettered += 1
    return ReconcileReport(len(stale), failed, lettered, stopped)


def _remove_staging(attempt: dict[str, Any]) -> None:
    """Remove the staging directories the attempt's job's tries up to this one left beside its output, when that
    is an absolute local path this process can reach (in an object store, the output's next commit removes a killed
    try's objects)."""
    from airflow_provider_enterprise.engines.reuse import tries_through
    from airflow_provider_enterprise.output.commit import remove_abandoned_staging

    output = attempt["output_path"]
    if not output or not os.path.isabs(output):
        return
    try:
        remove_abandoned_staging(output, tries_through(attempt["job_id"], attempt["try_number"]))
    except OSError:  # the sweep goes on; a later try of the job removes them
        log.exception("Could not remove the staging directories of attempt %s beside %s", attempt["attempt_id"], output)


def _stop(stop_application: ApplicationStopper, attempt: dict[str, Any]) -> bool:
    """Stop the attempt's application; a cluster that cannot be reached is logged, and the sweep goes on."""
    external_id = attempt["external_id"]
    try:
        running = stop_application(attempt["status_api"], external_id)
    except Exception:
        log.exception("Could not stop application %s of attempt %s", external_id, attempt["attempt_id"])
        return False
    if running:
        log.warning("Stopped application %s: attempt %s's task instance had ended", external_id, attempt["attempt_id"])
    return running


class LostTaskError(EnterpriseError):
    """The task process died (SIGKILL, OOM) without recording its outcome."""
