"""
The job registry: a PostgreSQL database of its own (never Airflow's metadata DB).

Connection, first match wins: the configured ``database_url`` (``DATABASE_URL``), the Airflow connection
``metadata_conn_id``, the running embedded development server. Nothing found is an error that says how to
configure one; the hook never starts a server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, ParamSpec, TypeVar

from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_enterprise import embedded_db
from airflow_provider_enterprise.config import DEFAULT_METADATA_CONN_ID, Settings, load_settings
from airflow_provider_enterprise.exceptions import (
    InvalidTransitionError,
    MetadataDatabaseNotConfigured,
    RegistryConnectionRefused,
)
from airflow_provider_enterprise.redaction import redact

P = ParamSpec("P")
R = TypeVar("R")

#: Key of the transaction-level advisory lock that serialises migration runs.
MIGRATION_LOCK_KEY = 7_346_108_413


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


#: Pauses between tries of a registry call whose connection failed (a restarting server, a failover).
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    for module in ("psycopg", "psycopg2"):
        with suppress(ImportError):
            errors.append(__import__(module).OperationalError)
    return tuple(errors)


#: libpq's words for a connection refused over its TLS or login settings, and what they mean to the user.
CONNECTION_REFUSALS = (
    (
        "certificate verify failed",
        "the registry server's certificate is not signed by the CA in sslrootcert ({sslrootcert}), or has expired",
    ),
    (
        "no encryption",
        "the registry server refuses connections without TLS (sslmode={sslmode}): "
        "use sslmode=verify-full with sslrootcert",
    ),
    (
        "requires a valid client certificate",
        "the registry server requires a client certificate for user {user}: set sslcert and sslkey",
    ),
    (
        "certificate authentication failed",
        "the client certificate in sslcert ({sslcert}) is not for user {user}: its common name must be the user name",
    ),
    (
        "password authentication failed",
        "the registry server refused the password of user {user} "
        "(or, under clientcert=verify-full, a client certificate not for that user)",
    ),
)


def reconnecting(method: Callable[P, R]) -> Callable[P, R]:
    """
    Retry a registry call, on a new connection, when the connection fails (the call must be idempotent).

    A connection refused over its TLS or login settings (:class:`RegistryConnectionRefused`) fails at once.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        hook: EnterpriseMetadataHook = getattr(self, "hook", self)  # hook methods and registry services
        if getattr(hook._local, "reconnecting", False):  # an outer call retries: do not multiply the waits
            return method(self, *args, **kwargs)
        errors = _connection_errors()
        hook._local.reconnecting = True
        try:
            for delay in (*RECONNECT_DELAYS, None):
                try:
                    return method(self, *args, **kwargs)
                except errors as err:
                    if delay is None:
                        raise
                    hook.log.warning("Registry connection failed (%s); retrying in %.1f s", err, delay)
                    hook._local.conn = None
                    time.sleep(delay)
            raise AssertionError("unreachable")
        finally:
            hook._local.reconnecting = False

    return wrapper  # type: ignore[return-value]


#: A job's state as sensors see it: its derived status, or ``dead_lettered`` while a dead letter is open.
JOB_STATE_SQL = (
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM enterprise_dead_letters d WHERE d.job_id = s.job_id"
    " AND d.status IN ('open', 'replayed')) THEN 'dead_lettered' ELSE s.status END AS state"
    " FROM enterprise_job_status s WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s"
    " AND task_id = %(task_id)s AND map_index = %(map_index)s"
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
    arguments are :meth:`EnterpriseMetadataHook.start_attempt`'s), masked; the spec's own secrets are registered
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


def migration_files() -> list[tuple[str, str]]:
    """Return ``(version, sql)`` for every packaged migration, in version order."""
    folder = resources.files("airflow_provider_enterprise.migrations")
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


class EnterpriseMetadataHook(PostgresHook):
    """
    Interact with the job registry.

    :param metadata_conn_id: Airflow connection of the registry database, used when no ``database_url``
        is configured.
    :param settings: provider settings; loaded from the environment when not given.
    """

    conn_name_attr = "metadata_conn_id"
    default_conn_name = DEFAULT_METADATA_CONN_ID
    conn_type = "enterprise_metadata"
    hook_name = "Enterprise job registry"

    def __init__(self, metadata_conn_id: str | None = None, *, settings: Settings | None = None, **kwargs: Any) -> None:
        self.settings = settings or load_settings()
        kwargs[self.conn_name_attr] = metadata_conn_id or self.settings.metadata_conn_id
        super().__init__(**kwargs)
        self._local = threading.local()
        self._async_conninfo: str | None = None

    # -- connection ---------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._resolve_connection()
        return self._connection

    def _resolve_connection(self) -> Connection:
        if self.settings.database_url is not None:
            return self._configured_connection()
        try:
            return self.get_connection(self.get_conn_id())
        except AirflowNotFoundException:
            return self._embedded_connection()

    async def aconnection(self) -> Connection:
        """Resolve the registry connection inside an event loop (triggers), with ``aget_connection``."""
        if self._connection is None:
            if self.settings.database_url is not None:
                self._connection = self._configured_connection()
            else:
                try:
                    self._connection = await self.aget_connection(self.get_conn_id())
                except AirflowNotFoundException:
                    self._connection = self._embedded_connection()
        return self._connection

    def _configured_connection(self) -> Connection:
        return Connection.from_uri(self.settings.database_url.get_secret_value(), conn_id=self.get_conn_id())

    def _embedded_connection(self) -> Connection:
        conn_id = self.get_conn_id()
        directory = embedded_db.data_dir(self.settings)
        reason = embedded_db.refusal_reason(self.settings)
        server = None if reason else embedded_db.running_server(directory)
        if server is not None:
            return Connection(
                conn_id=conn_id,
                conn_type="postgres",
                host=server.socket_dir,
                port=server.port,
                login=embedded_db.SUPERUSER,
                schema=embedded_db.REGISTRY_DATABASE,
            )
        how = (
            "set DATABASE_URL (or [enterprise] database_url), or define the Airflow connection "
            f"{conn_id!r} (e.g. AIRFLOW_CONN_{conn_id.upper()}=postgresql://user:pass@host:5432/db)"
        )
        if reason:
            raise MetadataDatabaseNotConfigured(f"no registry database configured ({reason}): {how}")
        raise MetadataDatabaseNotConfigured(
            f"no registry database configured and no embedded server running in {directory}: {how}, "
            "or for development run `enterprise-orchestrator db start`"
        )

    async def _aconninfo(self) -> str:
        """
        The registry's libpq connection string, built once per hook: reading a connection's extras sends its
        values to the triggerer's supervisor to mask, a round trip that every poll of every trigger would wait on.
        """
        if self._async_conninfo is None:
            from psycopg.conninfo import make_conninfo

            conn = await self.aconnection()
            extra = await conn.aextra_dejson()
            args: dict[str, Any] = {
                "host": conn.host,
                "port": conn.port,
                "user": conn.login,
                "password": conn.password,
                "dbname": conn.schema,
                **{k: v for k, v in extra.items() if k not in self.ignored_extra_options},
            }
            self._async_conninfo = make_conninfo(**{k: v for k, v in args.items() if v not in (None, "")})
        return self._async_conninfo

    async def aquery(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """
        Run one read-only query without blocking the event loop (for triggers), on a connection of the pool
        that every trigger of this event loop shares for this registry (see :func:`_async_pool`).
        """
        from psycopg.rows import dict_row

        pool = await _async_pool(self, await self._aconninfo())
        async with pool.connection() as aconn:
            cursor = await aconn.execute(sql, params)
            cursor.row_factory = dict_row
            return await cursor.fetchall()

    @reconnecting
    def job_state(self, key: JobKey) -> str | None:
        """Return the job's status, ``dead_lettered`` while it has an open dead letter, or None if unknown."""
        with self._transaction() as cur:
            cur.execute(JOB_STATE_SQL, _key_params(key))
            row = cur.fetchone()
        return row[0] if row else None

    async def ajob_state(self, key: JobKey) -> str | None:
        """Async :meth:`job_state`, for triggers."""
        rows = await self.aquery(JOB_STATE_SQL, _key_params(key))
        return rows[0]["state"] if rows else None

    def describe_target(self) -> str:
        """Return where the registry is, without credentials (for logs and ``doctor``)."""
        conn = self.connection
        host = conn.host or conn.extra_dejson.get("host") or "localhost"
        where = f"socket {host}" if host.startswith("/") else f"{host}:{conn.port or 5432}"
        return f"database {conn.schema or ''!r} at {where}"

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        """Turn a connection refused over its TLS or login settings into :class:`RegistryConnectionRefused`."""
        try:
            yield
        except _connection_errors() as err:
            explanation = next((text for words, text in CONNECTION_REFUSALS if words in str(err)), None)
            if explanation is None:  # an unreachable or restarting server: a retry may succeed
                raise
            extra = self.connection.extra_dejson
            reason = explanation.format(
                sslmode=extra.get("sslmode", "prefer"),
                sslrootcert=extra.get("sslrootcert", "~/.postgresql/root.crt"),
                sslcert=extra.get("sslcert", "~/.postgresql/postgresql.crt"),
                user=self.connection.login,
            )
            raise RegistryConnectionRefused(
                f"cannot connect to the registry ({self.describe_target()}): {reason}"
            ) from err

    def _registry_conn(self) -> Any:
        """Return this thread's open connection, connecting when there is none (or it was closed)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            with self._refusals():
                conn = self.get_conn()
            self._local.conn = conn
        return conn

    @contextmanager
    def single_attempt(self) -> Iterator[None]:
        """Make each registry call in this block once, without reconnect retries (for health checks)."""
        previous = getattr(self._local, "reconnecting", False)
        self._local.reconnecting = True  # what an outer retrying call sets: inner calls then do not retry
        try:
            yield
        finally:
            self._local.reconnecting = previous

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and not conn.closed:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """Yield a cursor in one short transaction on this thread's connection, committed on success."""
        conn = self._registry_conn()
        try:
            with conn.cursor() as cursor:
                yield cursor
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # the connection is gone (server restart): reconnect next time
                self._local.conn = None
            raise

    @contextmanager
    def _autocommit(self) -> Iterator[Any]:
        """
        Yield a cursor whose statements each commit on their own: one round trip a statement instead of three
        (BEGIN, the statement, COMMIT). For calls whose every write is one atomic, guarded statement.
        """
        conn = self._registry_conn()
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            try:
                conn.autocommit = False
            except Exception:  # the connection is gone (server restart): reconnect next time
                self._local.conn = None

    @staticmethod
    def _dicts(cursor: Any) -> list[dict[str, Any]]:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- migrations ---------------------------------------------------------------------------------

    @reconnecting
    def migrate(self) -> list[str]:
        """
        Apply pending migrations in one transaction under an advisory lock.

        A concurrent run waits for the lock, then finds nothing left to apply.

        :return: the versions applied by this call.
        """
        applied: list[str] = []
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            cur.execute("SELECT to_regclass('enterprise_schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:  # checked first: the application role may not create tables
                cur.execute(
                    "CREATE TABLE enterprise_schema_migrations ("
                    " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            cur.execute("SELECT version FROM enterprise_schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, sql in migration_files():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO enterprise_schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
        if applied:
            self.log.info("Applied registry migrations %s", ", ".join(applied))
        return applied

    @reconnecting
    def applied_migrations(self) -> list[str]:
        """Return the versions already applied (empty on a fresh database)."""
        with self._transaction() as cur:
            cur.execute("SELECT to_regclass('enterprise_schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT version FROM enterprise_schema_migrations ORDER BY version")
            return [row[0] for row in cur.fetchall()]

    # -- jobs and attempts --------------------------------------------------------------------------

    @reconnecting
    def register_job(self, key: JobKey, *, job_name: str, job_type: str, priority: str = "normal") -> int:
        """Return the job id of ``key``, creating the job once however many callers race."""
        with self._autocommit() as cur:
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
        with self._autocommit() as cur:
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
        with self._autocommit() as cur:
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
        with self._autocommit() as cur:
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
        with self._autocommit() as cur:
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
        with self._transaction() as cur:
            cur.execute(
                "SELECT external_id FROM enterprise_job_attempts"
                " WHERE job_id = %s AND try_number < %s AND external_id IS NOT NULL AND status <> 'succeeded'"
                " ORDER BY try_number DESC",
                (job_id, before_try),
            )
            return [row[0] for row in cur.fetchall()]

    @reconnecting
    def heartbeat(self, attempt_id: int) -> bool:
        """Record that a running attempt is alive; return False if it is no longer running."""
        with self._autocommit() as cur:
            cur.execute(
                "UPDATE enterprise_job_attempts SET heartbeat_at = now() WHERE attempt_id = %s AND status = 'running'",
                (attempt_id,),
            )
            return cur.rowcount == 1

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

    # -- queries ------------------------------------------------------------------------------------

    @reconnecting
    def list_jobs(
        self,
        *,
        dag_id: str | None = None,
        status: str | None = None,
        dag_ids: Collection[str] | None = None,
        run_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Return jobs with their derived status, newest first (``dag_ids``: only jobs of these DAGs)."""
        with self._transaction() as cur:
            cur.execute(
                f"SELECT * FROM enterprise_job_status WHERE {LISTING_FILTER}"  # noqa: S608 - a fixed fragment
                " ORDER BY created_at DESC, job_id DESC LIMIT %(limit)s OFFSET %(offset)s",
                listing_params(
                    dag_id=dag_id, status=status, dag_ids=dag_ids, run_id=run_id, limit=limit, offset=offset
                ),
            )
            return self._dicts(cur)

    @reconnecting
    def count_jobs(
        self,
        *,
        dag_id: str | None = None,
        status: str | None = None,
        dag_ids: Collection[str] | None = None,
        run_id: str | None = None,
    ) -> int:
        """Return how many jobs :meth:`list_jobs` would return without a limit."""
        with self._transaction() as cur:
            cur.execute(
                f"SELECT count(*) FROM enterprise_job_status WHERE {LISTING_FILTER}",  # noqa: S608 - a fixed fragment
                listing_params(dag_id=dag_id, status=status, dag_ids=dag_ids, run_id=run_id),
            )
            return int(cur.fetchone()[0])

    @reconnecting
    def dag_ids(self) -> list[str]:
        """Return the DAG ids that have jobs in the registry."""
        with self._transaction() as cur:
            cur.execute("SELECT DISTINCT dag_id FROM enterprise_jobs ORDER BY dag_id")
            return [row[0] for row in cur.fetchall()]

    @reconnecting
    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """Return one job with its derived status and its attempts (oldest first), each with its data-quality check
        results (``checks``, see :mod:`airflow_provider_enterprise.check_results`), or None."""
        with self._transaction() as cur:
            cur.execute("SELECT * FROM enterprise_job_status WHERE job_id = %s", (job_id,))
            jobs = self._dicts(cur)
            if not jobs:
                return None
            cur.execute("SELECT * FROM enterprise_job_attempts WHERE job_id = %s ORDER BY try_number", (job_id,))
            attempts = self._dicts(cur)
            cur.execute(
                "SELECT r.attempt_id, r.check_name AS name, r.check_type AS type, r.severity, r.target, r.outcome,"
                " r.observed, r.failing_rows, r.message FROM enterprise_check_results r"
                " JOIN enterprise_job_attempts a USING (attempt_id) WHERE a.job_id = %s"
                " ORDER BY r.attempt_id, r.position",
                (job_id,),
            )
            checks: dict[int, list[dict[str, Any]]] = {}
            for row in self._dicts(cur):
                checks.setdefault(row.pop("attempt_id"), []).append(row)
            for attempt in attempts:
                attempt["checks"] = checks.get(attempt["attempt_id"], [])
            return {**jobs[0], "attempts": attempts}

    @reconnecting
    def find_job(self, key: JobKey) -> dict[str, Any] | None:
        """Return the job of ``key`` with its attempts, or None."""
        with self._transaction() as cur:
            cur.execute(
                "SELECT job_id FROM enterprise_jobs"
                " WHERE dag_id = %s AND run_id = %s AND task_id = %s AND map_index = %s",
                (key.dag_id, key.run_id, key.task_id, key.map_index),
            )
            row = cur.fetchone()
        return self.get_job(int(row[0])) if row else None


#: Connections of one registry's async pool: a triggerer's polls share them instead of connecting for each poll.
ASYNC_POOL_MAX_SIZE = 4
#: Seconds a query waits for a pooled connection before it fails.
ASYNC_POOL_TIMEOUT = 30.0
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Task]] = (
    weakref.WeakKeyDictionary()
)


async def _async_pool(hook: EnterpriseMetadataHook, conninfo: str) -> Any:
    """
    Return the open async connection pool of the registry ``conninfo`` names, for the running event loop.

    A pool belongs to one event loop, so pools are kept per loop (and dropped with it). The first caller opens
    it, after one direct connection that turns a refused login or TLS setting into
    :class:`RegistryConnectionRefused` at once (a pool would only retry it in the background); a pool that
    failed to open is forgotten, so the next poll tries again.
    """
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    async def open_pool() -> AsyncConnectionPool:
        with hook._refusals():
            probe = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        await probe.close()
        pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=ASYNC_POOL_MAX_SIZE,
            timeout=ASYNC_POOL_TIMEOUT,
            kwargs={"autocommit": True},
            open=False,
        )
        await pool.open(wait=True, timeout=ASYNC_POOL_TIMEOUT)
        return pool

    pools = _async_pools.setdefault(asyncio.get_running_loop(), {})
    if conninfo not in pools:
        pools[conninfo] = asyncio.ensure_future(open_pool())
    try:
        return await asyncio.shield(pools[conninfo])
    except BaseException:
        if pools.get(conninfo) is not None and pools[conninfo].done():
            pools.pop(conninfo, None)
        raise


#: The filters of job and dead-letter listings: each applies only when its parameter is not NULL.
LISTING_FILTER = (
    "(%(dag_id)s::text IS NULL OR dag_id = %(dag_id)s)"
    " AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s)"
    " AND (%(status)s::text IS NULL OR status = %(status)s)"
    " AND (%(dag_ids)s::text[] IS NULL OR dag_id = ANY(%(dag_ids)s::text[]))"
)


def listing_params(*, dag_ids: Collection[str] | None, run_id: str | None = None, **params: Any) -> dict[str, Any]:
    """Return the query parameters of :data:`LISTING_FILTER` (``dag_ids`` as a sorted list, or None)."""
    return {**params, "run_id": run_id, "dag_ids": None if dag_ids is None else sorted(dag_ids)}
