"""
Registry retention: delete finished jobs with their attempts, dead letters, stream messages and audit events past
their retention.

The rules (settings ``retention`` and ``dead_letters``; docs/registry.md):

- A job goes with all its attempts when none of them runs, the last one finished before the jobs' cutoff and no
  dead letter of it stays: a running attempt, or a dead letter that is not purged (an open one, unless open ones
  are configured to go), keeps the whole job.
- A dead letter goes when its status is one of ``dead_letters.purge_statuses`` (superseded and discarded by
  default) and it was resolved (an open or replayed one: created) before the dead letters' cutoff.
- A stream message (:mod:`~airflow_provider_enterprise.events.ledger`) goes when it was recorded before the
  messages' cutoff (``retention.event_messages_days``), except the newest of its stream: the queue-fed DAG reads
  the stream on from it, and without it would read the whole stream again. An idempotency key is kept as long as
  its admitted message.
- Audit events go by their own retention (``retention.audit_days``, none by default: kept for ever), never by an
  ``older_than`` given for one purge, and never sooner than the jobs they describe: a purge keeping jobs longer
  than audit events is refused (:class:`RetentionError`). A role that may not delete audit events (the
  application role) leaves them, and the report says so.

Each table is purged in small batches, each one short transaction that locks its rows with ``FOR UPDATE SKIP
LOCKED`` (a row a writer holds is left for the next purge), starting where the previous batch ended (no batch
scans what earlier ones deleted), then deletes those still past retention: a job that got a new attempt before
the lock stays, and a new attempt after it waits for the batch. Between batches the purge pauses by its duty cycle
(``retention.purge_duty_cycle``), as ``pt-archiver --sleep-coef`` does: the writers beside it keep the server's
CPU and WAL flushes for the rest of the time.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.exceptions import EnterpriseError
from airflow_provider_enterprise.registry.connection import reconnecting

if TYPE_CHECKING:
    from airflow_provider_enterprise.config import Settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

log = logging.getLogger(__name__)

#: Rows of the purged table a batch deletes at most (a batch of jobs also deletes their attempts).
BATCH_SIZE = 1000

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dh])")
_UNITS = {"d": "days", "h": "hours"}


class RetentionError(EnterpriseError):
    """A purge that would break a retention rule."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration of days or hours, such as ``90d`` or ``12h``; it must be longer than zero."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match[1]) == 0:
        raise ValueError(f"invalid duration {text!r}: expected days or hours above zero, such as 90d or 12h")
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each table keeps its rows (``audit``: None keeps audit events), and which dead letters may go."""

    jobs: timedelta
    dead_letters: timedelta
    dead_letter_statuses: tuple[str, ...]
    audit: timedelta | None
    event_messages: timedelta

    @classmethod
    def configured(cls, settings: Settings, older_than: timedelta | None = None) -> RetentionPolicy:
        """
        Return the configured retention.

        :param older_than: replaces the jobs', the dead letters' and the stream messages' retention for one purge (not
            the audit events').
        :raises RetentionError: when audit events would be deleted before the jobs they describe.
        """
        retention = settings.retention
        audit = None if retention.audit_days is None else timedelta(days=retention.audit_days)
        jobs = older_than or timedelta(days=retention.jobs_days)
        if audit is not None and audit < jobs:
            raise RetentionError(
                f"refusing to purge: jobs would be kept {_days(jobs)} but audit events only {_days(audit)} "
                f"(retention.audit_days); audit events are kept at least as long as the jobs they describe: "
                f"purge jobs older than at most {_days(audit)}, or raise retention.audit_days"
            )
        return cls(
            jobs=jobs,
            dead_letters=older_than or timedelta(days=settings.dead_letters.retention_days),
            dead_letter_statuses=settings.dead_letters.purge_statuses,
            audit=audit,
            event_messages=older_than or timedelta(days=retention.event_messages_days),
        )


def _days(age: timedelta) -> str:
    return f"{age / timedelta(days=1):g} days"


def valid_duty_cycle(value: float | str) -> float:
    """
    Return ``value`` as a share of time above zero and at most one, by the bounds of the setting
    ``retention.purge_duty_cycle``; anything else raises a ValueError naming it.
    """
    from pydantic import ValidationError

    from airflow_provider_enterprise.config import RetentionSettings

    try:
        return RetentionSettings.model_validate({"purge_duty_cycle": value}).purge_duty_cycle
    except ValidationError:
        raise ValueError(
            f"invalid purge duty cycle {value!r}: expected the share of time spent deleting, above 0 and at most 1 "
            "(0.5 pauses as long as each batch took; 1 never pauses)"
        ) from None


@dataclass(frozen=True)
class PurgeReport:
    """
    Rows deleted per table (in a dry run: rows that would be), the cutoff of each, and why a table was left;
    ``seconds``: the purge's wall time, ``paused_seconds`` of it pausing between batches (its duty cycle).
    """

    dry_run: bool
    rows: dict[str, int]
    cutoffs: dict[str, datetime]
    kept: dict[str, str]
    seconds: float
    paused_seconds: float


#: A dead letter past retention: in a status that may go, resolved (open and replayed ones: created) before the cutoff.
LETTER_EXPIRED = "d.status = ANY(%(letter_statuses)s) AND coalesce(d.resolved_at, d.created_at) < %(letters_before)s"
#: A job past retention: no attempt running or finished since the cutoff, no dead letter that stays.
JOB_EXPIRED = (
    "j.created_at < %(jobs_before)s"
    " AND NOT EXISTS (SELECT 1 FROM enterprise_job_attempts a WHERE a.job_id = j.job_id"
    " AND (a.status = 'running' OR a.finished_at >= %(jobs_before)s))"
    " AND NOT EXISTS (SELECT 1 FROM enterprise_dead_letters d WHERE d.job_id = j.job_id"
    f" AND NOT ({LETTER_EXPIRED}))"
)
_FIRST_ROW = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Purge:
    """
    The purge of one table (a job's: with its attempts). ``tables``: what it deletes from; ``count_sql`` counts
    what would go, per table. A batch is one short transaction: ``lock_sql`` locks the next rows after
    ``cursor`` (their key, then the cursor's columns); ``delete_sql`` deletes those of them (``%(keys)s``) still
    past retention, seen by a snapshot taken once they are locked, and returns the rows deleted per table.
    """

    cutoff: str
    tables: tuple[str, ...]
    count_sql: str
    lock_sql: str
    delete_sql: str
    cursor: dict[str, Any]


DEAD_LETTERS = _Purge(
    cutoff="letters_before",
    tables=("enterprise_dead_letters",),
    count_sql=f"SELECT count(*) FROM enterprise_dead_letters d WHERE {LETTER_EXPIRED}",  # noqa: S608 - fixed
    lock_sql=(
        "SELECT d.dead_letter_id, d.dead_letter_id AS after_id FROM enterprise_dead_letters d"  # noqa: S608 - fixed
        f" WHERE d.dead_letter_id > %(after_id)s AND {LETTER_EXPIRED}"
        " ORDER BY d.dead_letter_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    ),
    delete_sql="DELETE FROM enterprise_dead_letters WHERE dead_letter_id = ANY(%(keys)s)",
    cursor={"after_id": 0},
)
JOBS = _Purge(
    cutoff="jobs_before",
    tables=("enterprise_jobs", "enterprise_job_attempts"),
    count_sql=(
        "SELECT count(DISTINCT j.job_id), count(x.attempt_id)"  # noqa: S608 - fixed fragments
        f" FROM enterprise_jobs j LEFT JOIN enterprise_job_attempts x ON x.job_id = j.job_id WHERE {JOB_EXPIRED}"
    ),
    lock_sql=(
        "SELECT j.job_id, j.created_at AS after_at, j.job_id AS after_id FROM enterprise_jobs j"  # noqa: S608
        f" WHERE (j.created_at, j.job_id) > (%(after_at)s, %(after_id)s) AND {JOB_EXPIRED}"
        " ORDER BY j.created_at, j.job_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    ),
    # Checked again once locked: an attempt started between the first check and the lock keeps its job (after
    # the lock, a new attempt waits for the batch). Rows are deleted by key: a join may be planned as a full scan.
    delete_sql=(
        "WITH expired AS (SELECT j.job_id FROM enterprise_jobs j"  # noqa: S608 - fixed fragments
        f" WHERE j.job_id = ANY(%(keys)s) AND {JOB_EXPIRED}),"
        " attempts AS (DELETE FROM enterprise_job_attempts WHERE job_id = ANY(ARRAY(SELECT job_id FROM expired))"
        " RETURNING 1),"
        " jobs AS (DELETE FROM enterprise_jobs WHERE job_id = ANY(ARRAY(SELECT job_id FROM expired)) RETURNING 1)"
        " SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM attempts)"
    ),
    cursor={"after_at": _FIRST_ROW, "after_id": 0},
)
#: A stream message past retention: recorded before the cutoff, and not its stream's newest (the read position).
MESSAGE_EXPIRED = (
    "m.received_at < %(messages_before)s AND EXISTS (SELECT 1 FROM enterprise_event_messages n"
    " WHERE n.stream = m.stream AND (n.id_ms, n.id_seq) > (m.id_ms, m.id_seq))"
)
EVENT_MESSAGES = _Purge(
    cutoff="messages_before",
    tables=("enterprise_event_messages",),
    count_sql=f"SELECT count(*) FROM enterprise_event_messages m WHERE {MESSAGE_EXPIRED}",  # noqa: S608 - fixed
    # The key is (stream, message_id): a batch deletes its locked rows by their physical address (stable while
    # they are locked), one column like the other tables' keys.
    lock_sql=(
        "SELECT m.ctid::text, m.received_at AS after_at, m.stream AS after_stream, m.message_id AS after_id"  # noqa: S608
        " FROM enterprise_event_messages m WHERE (m.received_at, m.stream, m.message_id)"
        f" > (%(after_at)s, %(after_stream)s, %(after_id)s) AND {MESSAGE_EXPIRED}"
        " ORDER BY m.received_at, m.stream, m.message_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    ),
    delete_sql="DELETE FROM enterprise_event_messages WHERE ctid = ANY(%(keys)s::tid[])",
    cursor={"after_at": _FIRST_ROW, "after_stream": "", "after_id": ""},
)
AUDIT_EVENTS = _Purge(
    cutoff="audit_before",
    tables=("enterprise_audit_events",),
    count_sql="SELECT count(*) FROM enterprise_audit_events WHERE recorded_at < %(audit_before)s",
    lock_sql=(
        "SELECT audit_id, recorded_at AS after_at, audit_id AS after_id FROM enterprise_audit_events"
        " WHERE recorded_at < %(audit_before)s AND (recorded_at, audit_id) > (%(after_at)s, %(after_id)s)"
        " ORDER BY recorded_at, audit_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    ),
    delete_sql="DELETE FROM enterprise_audit_events WHERE audit_id = ANY(%(keys)s)",
    cursor={"after_at": _FIRST_ROW, "after_id": 0},
)


class RegistryRetention:
    """
    Purge the registry's rows past retention (the CLI, the maintenance DAG and the benchmark call this).

    :param batch_size: rows of the purged table a batch deletes at most.
    :param duty_cycle: share of the purge's time spent deleting (above 0, at most 1): after a batch of ``t``
        seconds it pauses ``t * (1 - duty_cycle) / duty_cycle``; default ``retention.purge_duty_cycle``.
    """

    def __init__(
        self, hook: EnterpriseMetadataHook, *, batch_size: int = BATCH_SIZE, duty_cycle: float | None = None
    ) -> None:
        self.hook = hook
        self.batch_size = batch_size
        self.duty_cycle = (
            hook.settings.retention.purge_duty_cycle if duty_cycle is None else valid_duty_cycle(duty_cycle)
        )

    def purge(self, policy: RetentionPolicy, *, dry_run: bool = False) -> PurgeReport:
        """
        Delete every table's rows past ``policy``: dead letters first (a job waits for its own), then jobs with
        their attempts, stream messages, then audit events; with ``dry_run``, count them and delete nothing.
        """
        started, paused = time.monotonic(), 0.0
        params = self._cutoffs(policy)
        purges, kept = [DEAD_LETTERS, JOBS, EVENT_MESSAGES], {}
        if policy.audit is None:
            kept[AUDIT_EVENTS.tables[0]] = "kept: retention.audit_days is not set"
        elif not self._may_delete_audit_events():
            kept[AUDIT_EVENTS.tables[0]] = "kept: this role may not delete audit events (purge as the owner)"
            log.warning("Audit events left: the registry role may not delete them; purge as the registry's owner")
        else:
            purges.append(AUDIT_EVENTS)
        rows: dict[str, int] = {}
        for purge in purges:
            if dry_run:
                rows.update(self._count(purge, params))
            else:
                deleted, pauses = self._delete(purge, params)
                rows.update(deleted)
                paused += pauses
        cutoffs = {table: params[purge.cutoff] for purge in purges for table in purge.tables}
        seconds = time.monotonic() - started
        if not dry_run:
            log.info(
                "Purged the registry in %.1f s (%.1f s of it paused): %s",
                seconds,
                paused,
                ", ".join(f"{n} from {table}" for table, n in rows.items()),
            )
        return PurgeReport(dry_run, rows, cutoffs, kept, seconds=seconds, paused_seconds=paused)

    def purge_dead_letters(self, policy: RetentionPolicy) -> int:
        """Delete the dead letters past ``policy`` only; return how many."""
        rows, _ = self._delete(DEAD_LETTERS, self._cutoffs(policy))
        return rows[DEAD_LETTERS.tables[0]]

    @reconnecting
    def _cutoffs(self, policy: RetentionPolicy) -> dict[str, Any]:
        """The statements' parameters: each table's cutoff by the registry's clock, once for the whole purge."""
        with self.hook.transaction() as cur:
            cur.execute("SELECT now()")
            now = cur.fetchone()[0]
        return {
            "jobs_before": now - policy.jobs,
            "letters_before": now - policy.dead_letters,
            "letter_statuses": list(policy.dead_letter_statuses),
            "messages_before": now - policy.event_messages,
            "audit_before": None if policy.audit is None else now - policy.audit,
        }

    @reconnecting
    def _may_delete_audit_events(self) -> bool:
        with self.hook.transaction() as cur:
            cur.execute("SELECT has_table_privilege('enterprise_audit_events', 'DELETE')")
            return bool(cur.fetchone()[0])

    @reconnecting
    def _count(self, purge: _Purge, params: dict[str, Any]) -> dict[str, int]:
        with self.hook.transaction() as cur:
            cur.execute(purge.count_sql, params)
            return dict(zip(purge.tables, cur.fetchone(), strict=True))

    def _delete(self, purge: _Purge, params: dict[str, Any]) -> tuple[dict[str, int], float]:
        """Delete ``purge``'s rows batch by batch, pausing by the duty cycle; return the rows deleted per table and
        the seconds paused."""
        rows, paused = dict.fromkeys(purge.tables, 0), 0.0
        cursor: dict[str, Any] | None = purge.cursor
        while cursor is not None:
            started = time.monotonic()
            deleted, cursor = self._batch(purge, {**params, **cursor, "limit": self.batch_size})
            for table, count in zip(purge.tables, deleted, strict=True):
                rows[table] += count
            if cursor is not None and self.duty_cycle < 1:
                pause = (time.monotonic() - started) * (1 - self.duty_cycle) / self.duty_cycle
                time.sleep(pause)
                paused += pause
        return rows, paused

    @reconnecting
    def _batch(self, purge: _Purge, params: dict[str, Any]) -> tuple[tuple[int, ...], dict[str, Any] | None]:
        """
        Delete one batch in its own transaction; return the rows deleted per table and the next batch's cursor
        (None after the last batch).
        """
        with self.hook.transaction() as cur:
            cur.execute(purge.lock_sql, params)
            locked = cur.fetchall()
            names = [column[0] for column in cur.description]
            if not locked:
                return (0,) * len(purge.tables), None
            cur.execute(purge.delete_sql, {**params, "keys": [row[0] for row in locked]})
            deleted = cur.fetchone() if cur.description else (cur.rowcount,)
        cursor = dict(zip(names[1:], locked[-1][1:], strict=True))
        return tuple(deleted), cursor if len(locked) == params["limit"] else None
