"""
The registry's connection: where it is (first match wins: the configured ``database_url`` (``DATABASE_URL``), the
Airflow connection ``metadata_conn_id``, the running embedded development server; nothing found is an error that
says how to configure one, and the hook never starts a server), one connection per thread with short
transactions, reconnection after a failover, and an async pool per event loop for triggers.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ParamSpec, TypeVar, cast

from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_enterprise.config import Settings, load_settings
from airflow_provider_enterprise.dev import embedded_db
from airflow_provider_enterprise.exceptions import MetadataDatabaseNotConfigured, RegistryConnectionRefused

P = ParamSpec("P")
R = TypeVar("R")

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
        hook: RegistryConnection = getattr(self, "hook", self)  # hook methods and registry services
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


class RegistryConnection(PostgresHook):
    """
    The registry's PostgreSQL connection: resolution, one connection per thread, transactions, async queries.

    :param metadata_conn_id: Airflow connection of the registry database, used when no ``database_url``
        is configured.
    :param settings: provider settings; loaded from the environment when not given.
    """

    def __init__(self, metadata_conn_id: str | None = None, *, settings: Settings | None = None, **kwargs: Any) -> None:
        self.settings = settings or load_settings()
        kwargs[self.conn_name_attr] = metadata_conn_id or self.settings.metadata_conn_id
        super().__init__(**kwargs)
        self._local = threading.local()
        self._async_conninfo: str | None = None

    # DbApiHook's read-write ``connection`` is the Airflow connection of ``conn_id``; the registry's is resolved
    # by its own order (database_url, the Airflow connection, the embedded server), read-only.
    @property  # type: ignore[misc]
    def connection(self) -> Connection:  # type: ignore[override]
        resolved: Connection | None = self._connection  # type: ignore[has-type]  # DbApiHook's, unannotated
        if resolved is None:
            resolved = self._connection = self._resolve_connection()
        return resolved

    def _resolve_connection(self) -> Connection:
        if self.settings.database_url is not None:
            return self._configured_connection()
        try:
            return cast(Connection, self.get_connection(self.get_conn_id()))
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
        url = self.settings.database_url
        assert url is not None  # the caller checked
        return Connection.from_uri(url.get_secret_value(), conn_id=self.get_conn_id())

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
            return cast(list[dict[str, Any]], await cursor.fetchall())

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
    def transaction(self) -> Iterator[Any]:
        """Yield a cursor in one short transaction on this thread's connection, committed on success (the registry
        services run their statements here, under :func:`reconnecting`)."""
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
    def autocommit(self) -> Iterator[Any]:
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


#: Connections of one registry's async pool: a triggerer's polls share them instead of connecting for each poll.
ASYNC_POOL_MAX_SIZE = 4
#: Seconds a query waits for a pooled connection before it fails.
ASYNC_POOL_TIMEOUT = 30.0
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Task[Any]]] = (
    weakref.WeakKeyDictionary()
)


async def _async_pool(hook: RegistryConnection, conninfo: str) -> Any:
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


def dict_rows(cursor: Any) -> list[dict[str, Any]]:
    """The rest of ``cursor``'s rows, each as a dict by column name."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
