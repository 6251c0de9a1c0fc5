"""
Jobs and their attempts in the registry: a job is one Airflow task instance across its tries, an attempt one try
with its lifecycle (running, then succeeded or failed, never back), heartbeats and what it learnt while running.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_provider_enterprise.exceptions import InvalidTransitionError
from airflow_provider_enterprise.registry.connection import RegistryConnection, reconnecting
from airflow_provider_enterprise.security.redaction import redact


class AttemptStatus(StrEnum):
    """Lifecycle of one attempt."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: Allowed attempt transitions: an attempt that finished never runs again.
ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    AttemptStatus.RUNNING: frozenset({AttemptStatus.SUCCEEDED, AttemptStatus.FAILED}),
    AttemptStatus.SUCCEEDED: frozenset(),
    AttemptStatus.FAILED: frozenset(),
}


@dataclass(frozen=True)
class JobKey:
    """Identity of a job: one Airflow task instance, across all its tries."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True)
class RunTrigger:
    """Who or what started a DAG run: the triggering user (None for a schedule) and the run type."""

    user: str | None
    run_type: str | None


@dataclass(frozen=True)
class Attempt:
    """A registered attempt; ``created`` is False when the attempt already existed."""

    attempt_id: int
    job_id: int
    try_number: int
    status: AttemptStatus
    created: bool


#: A job's state as sensors see it: its derived status, or ``dead_lettered`` while a dead letter is open.
JOB_STATE_SQL = (
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM enterprise_dead_letters d WHERE d.job_id = s.job_id"
    " AND d.status IN ('open', 'replayed')) THEN 'dead_lettered' ELSE s.status END AS state"
    " FROM enterprise_job_status s WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s"
    " AND task_id = %(task_id)s AND map_index = %(map_index)s"
)


#: A running attempt's heartbeat, committed asynchronously (the setting is local to the statement's transaction).
HEARTBEAT_SQL = (
    "UPDATE enterprise_job_attempts SET heartbeat_at = now()"
    " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit"
    " WHERE attempt_id = %s AND status = 'running'"
)

#: The columns an attempt is registered with, and their parameters (:func:`_attempt_values`) after ``job_id``.
ATTEMPT_COLUMNS = "job_id, try_number, status, engine, spec, hostname, pid, triggered_by, run_type, inputs"
ATTEMPT_VALUES = (
    "%(try_number)s, 'running', %(engine)s, %(spec)s::jsonb, %(hostname)s, %(pid)s, %(triggered_by)s,"
    " %(run_type)s, %(inputs)s::jsonb"
)
#: A job registered (or found, if a committed row predates the statement) and its new try started, at once. It
#: returns no row when the try exists or a racing caller's job row is not yet visible to it.
REGISTER_ATTEMPT_SQL = (
    "WITH new_job AS ("
    " INSERT INTO enterprise_jobs (dag_id, run_id, task_id, map_index, job_name, job_type, priority)"
    " VALUES (%(dag_id)s, %(run_id)s, %(task_id)s, %(map_index)s, %(job_name)s, %(job_type)s, %(priority)s)"
    " ON CONFLICT ON CONSTRAINT enterprise_jobs_job_key DO NOTHING RETURNING job_id),"
    " job AS (SELECT job_id FROM new_job UNION ALL SELECT job_id FROM enterprise_jobs"
    " WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s AND task_id = %(task_id)s AND map_index = %(map_index)s"
    " AND NOT EXISTS (SELECT 1 FROM new_job))"
    f" INSERT INTO enterprise_job_attempts ({ATTEMPT_COLUMNS}) SELECT job_id, {ATTEMPT_VALUES} FROM job"
    " ON CONFLICT ON CONSTRAINT enterprise_job_attempts_attempt_key DO NOTHING"
    " RETURNING job_id, attempt_id, status"
)


def _attempt_values(
    try_number: int,
    *,
    engine: str | None = None,
    spec: dict[str, Any] | None = None,
    hostname: str | None = None,
    trigger: RunTrigger | None = None,
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The parameters of :data:`ATTEMPT_VALUES`: a new running attempt, made by this process (the keyword
    arguments are :meth:`RegistryAttempts.start_attempt`'s), masked; the spec's own secrets are registered
    with this process's secrets masker, which masks them in its logs and later writes too."""
    return {
        "try_number": try_number,
        "engine": engine,
        "spec": json.dumps(redact(spec, register=True)) if spec is not None else None,
        "hostname": hostname or socket.gethostname(),
        "pid": os.getpid(),
        "triggered_by": trigger.user if trigger else None,
        "run_type": trigger.run_type if trigger else None,
        "inputs": json.dumps(redact(inputs or [])),
    }


def _key_params(key: JobKey) -> dict[str, Any]:
    return {"dag_id": key.dag_id, "run_id": key.run_id, "task_id": key.task_id, "map_index": key.map_index}


class RegistryAttempts(RegistryConnection):
    """Register jobs and attempts, move attempts through their lifecycle, and read a job's state."""

    @reconnecting
    def job_state(self, key: JobKey) -> str | None:
        """Return the job's status, ``dead_lettered`` while it has an open dead letter, or None if unknown."""
        with self.transaction() as cur:
            cur.execute(JOB_STATE_SQL, _key_params(key))
            row = cur.fetchone()
        return row[0] if row else None

    async def ajob_state(self, key: JobKey) -> str | None:
        """Async :meth:`job_state`, for triggers."""
        rows = await self.aquery(JOB_STATE_SQL, _key_params(key))
        return rows[0]["state"] if rows else None

    @reconnecting
    def register_job(self, key: JobKey, *, job_name: str, job_type: str, priority: str = "normal") -> int:
        """Return the job id of ``key``, creating the job once however many callers race."""
        with self.autocommit() as cur:
            cur.execute(
                "INSERT INTO enterprise_jobs (dag_id, run_id, task_id, map_index, job_name, job_type, priority)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT ON CONSTRAINT enterprise_jobs_job_key DO NOTHING RETURNING job_id",
                (key.dag_id, key.run_id, key.task_id, key.map_index, job_name, job_type, priority),
            )
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    "SELECT job_id FROM enterprise_jobs"
                    " WHERE dag_id = %s AND run_id = %s AND task_id = %s AND map_index = %s",
                    (key.dag_id, key.run_id, key.task_id, key.map_index),
                )
                row = cur.fetchone()
            return int(row[0])

    @reconnecting
    def start_attempt(self, job_id: int, try_number: int, **attempt: Any) -> Attempt:
        """
        Register try ``try_number`` of a job as running; an existing attempt is returned as it is.

        :param attempt: what the attempt is registered with, all optional: ``engine``, ``spec`` (the rendered
            job spec), ``hostname`` (default: this host), ``trigger`` (a :class:`RunTrigger`: who or what started
            the DAG run) and ``inputs`` (the inputs it reads, ``name`` and ``path``), the last two for the audit
            trail.
        """
        values = _attempt_values(try_number, **attempt)
        with self.autocommit() as cur:
            cur.execute(
                f"INSERT INTO enterprise_job_attempts ({ATTEMPT_COLUMNS}) VALUES (%(job_id)s, {ATTEMPT_VALUES})"
                " ON CONFLICT ON CONSTRAINT enterprise_job_attempts_attempt_key DO NOTHING"
                " RETURNING attempt_id, status",
                {"job_id": job_id, **values},
            )
            row = cur.fetchone()
            created = row is not None
            if not created:
                cur.execute(
                    "SELECT attempt_id, status FROM enterprise_job_attempts WHERE job_id = %s AND try_number = %s",
                    (job_id, try_number),
                )
                row = cur.fetchone()
        return Attempt(int(row[0]), job_id, try_number, AttemptStatus(row[1]), created)

    @reconnecting
    def register_attempt(
        self,
        key: JobKey,
        try_number: int,
        *,
        job_name: str,
        job_type: str,
        priority: str = "normal",
        **attempt: Any,
    ) -> Attempt:
        """
        :meth:`register_job` then :meth:`start_attempt`, in one statement (one round trip, one commit) when the
        job is new or was registered earlier and the try is new: a job's first step. A job created by a racing
        caller during the statement, or a try already registered, takes the two calls, which settle both.

        :param attempt: :meth:`start_attempt`'s keyword arguments (``engine``, ``spec``, ``trigger``...).
        """
        values = _attempt_values(try_number, **attempt)
        job = {**_key_params(key), "job_name": job_name, "job_type": job_type, "priority": priority}
        with self.autocommit() as cur:
            cur.execute(REGISTER_ATTEMPT_SQL, {**job, **values})
            row = cur.fetchone()
        if row is not None:
            return Attempt(int(row[1]), int(row[0]), try_number, AttemptStatus(row[2]), True)
        job_id = self.register_job(key, job_name=job_name, job_type=job_type, priority=priority)
        return self.start_attempt(job_id, try_number, **attempt)

    @reconnecting
    def _transition(self, attempt_id: int, target: AttemptStatus, assignments: dict[str, Any]) -> None:
        """Move an attempt to the terminal status ``target`` in one guarded UPDATE checked by row count."""
        sources = [s.value for s, targets in ATTEMPT_TRANSITIONS.items() if target in targets]
        columns = ", ".join(["finished_at = now()", *(f"{name} = %s" for name in assignments)])
        with self.autocommit() as cur:
            cur.execute(
                f"UPDATE enterprise_job_attempts SET status = %s, {columns}"  # noqa: S608 - fixed column names
                " WHERE attempt_id = %s AND status = ANY(%s)",
                (target.value, *assignments.values(), attempt_id, sources),
            )
            if cur.rowcount == 1:
                return
            cur.execute("SELECT status FROM enterprise_job_attempts WHERE attempt_id = %s", (attempt_id,))
            current = cur.fetchone()
        if current is None:
            raise InvalidTransitionError(f"attempt {attempt_id} does not exist")
        raise InvalidTransitionError(
            f"attempt {attempt_id} cannot go from {current[0]} to {target.value} "
            f"(allowed from: {', '.join(sources) or 'nothing'})"
        )

    def complete_attempt(
        self,
        attempt_id: int,
        *,
        rows_in: int,
        rows_out: int,
        output_path: str,
        external_id: str | None = None,
        bad_rows: int = 0,
        inputs: list[dict[str, Any]] | None = None,
    ) -> None:
        """
        Mark a running attempt succeeded with its row counts (``bad_rows``: malformed input rows; ``inputs``: the
        inputs read, with their ``records``, replacing those registered at the start).
        """
        values: dict[str, Any] = {
            "rows_in": rows_in,
            "rows_out": rows_out,
            "bad_rows": bad_rows,
            "output_path": redact(output_path),
            "external_id": external_id,
        }
        if inputs is not None:
            values["inputs"] = json.dumps(redact(inputs))
        self._transition(attempt_id, AttemptStatus.SUCCEEDED, values)

    def fail_attempt(self, attempt_id: int, error: BaseException, *, retry_decision: str | None = None) -> None:
        """Mark a running attempt failed with its error and what happens next (the retry decision), masked."""
        self._transition(
            attempt_id,
            AttemptStatus.FAILED,
            {
                "error_class": type(error).__name__,
                "error_message": redact(str(error))[:10_000],
                "retry_decision": redact(retry_decision),
            },
        )

    #: Columns of a running attempt that :meth:`annotate_attempt` may set.
    _ANNOTATIONS = frozenset({"engine", "external_id", "routing", "status_api"})
    #: The annotations stored as JSON.
    _JSON_ANNOTATIONS = frozenset({"routing", "status_api"})

    @reconnecting
    def annotate_attempt(self, attempt_id: int, **values: Any) -> None:
        """
        Record facts learnt while an attempt runs: ``engine`` (the one routing chose), ``external_id`` (a
        submitted application), ``routing`` (the decision, as JSON) or ``status_api`` (where a cluster-mode
        application's status is read, as JSON: see
        :meth:`~.spark_status.SparkApplicationTracker.status_api`). One guarded UPDATE of a
        running attempt.
        """
        unknown = set(values) - self._ANNOTATIONS
        if unknown:
            raise ValueError(f"cannot annotate attempts with {', '.join(sorted(unknown))}")
        params = {k: json.dumps(v) if k in self._JSON_ANNOTATIONS else v for k, v in redact(values).items()}
        assignments = ", ".join(
            f"{name} = %s" + ("::jsonb" if name in self._JSON_ANNOTATIONS else "") for name in params
        )
        with self.autocommit() as cur:
            cur.execute(
                f"UPDATE enterprise_job_attempts SET {assignments}"  # noqa: S608 - allow-listed column names
                " WHERE attempt_id = %s AND status = 'running'",
                (*params.values(), attempt_id),
            )
            if cur.rowcount != 1:
                raise InvalidTransitionError(f"attempt {attempt_id} is not running: cannot annotate it")

    @reconnecting
    def external_ids(self, job_id: int, *, before_try: int) -> list[str]:
        """
        Return the external ids of a job's unfinished or failed attempts before try ``before_try``, latest first:
        the applications a retry may re-attach to or reuse. A succeeded attempt's is left out: a task cleared
        after success is run again.
        """
        with self.transaction() as cur:
            cur.execute(
                "SELECT external_id FROM enterprise_job_attempts"
                " WHERE job_id = %s AND try_number < %s AND external_id IS NOT NULL AND status <> 'succeeded'"
                " ORDER BY try_number DESC",
                (job_id, before_try),
            )
            return [row[0] for row in cur.fetchall()]

    @reconnecting
    def heartbeat(self, attempt_id: int) -> bool:
        """
        Record that a running attempt is alive; return False if it is no longer running.

        A beat commits without waiting for its WAL flush (``synchronous_commit`` off for its own transaction, as
        PostgreSQL's manual suggests for writes whose loss is harmless): a server crash may lose the beats of
        its last moments, which the next beat rewrites, while each beat stops costing the registry a disk flush
        that every other writer's commit queues behind.
        """
        with self.autocommit() as cur:
            cur.execute(HEARTBEAT_SQL, (attempt_id,))
            return bool(cur.rowcount == 1)

    @contextmanager
    def heartbeating(self, attempt_id: int, interval: float = 10.0) -> Iterator[None]:
        """Heartbeat ``attempt_id`` from a background thread while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.heartbeat(attempt_id)
                except Exception:  # a missed beat must not fail the job
                    self.log.warning("Heartbeat of attempt %s failed", attempt_id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"heartbeat-{attempt_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
