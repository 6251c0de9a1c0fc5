"""
What a retry can change: the table that classifies every error as permanent or transient.

An error is permanent unless a retry can cure it (connection refused or reset, timeouts, HTTP 429/5xx,
serialization failures, an unreachable cluster, lost executors, memory other jobs hold). Errors are classified by
their code first (an ``OSError``'s errno, a database's or Spark's SQLSTATE, an HTTP or gRPC status), then by their
type, first matching row of :data:`ERROR_TYPES` winning; anything the table does not name is permanent. A named
retry policy may move classes either way (``transient_errors`` / ``permanent_errors``).

Types are named by their import path and looked up only in modules already imported (an error of a library that
was never imported cannot be raised), so classifying imports neither DuckDB nor PySpark. No Airflow import: the
generic Spark application classifies its own errors with this module on the driver.
"""

from __future__ import annotations

import errno
import socket
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_enterprise.config import RetryPolicySettings


class ErrorKind(StrEnum):
    """Whether retrying can help."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"


PERMANENT, TRANSIENT = ErrorKind.PERMANENT, ErrorKind.TRANSIENT


@dataclass(frozen=True)
class ErrorRule:
    """A row of the table: errors of type ``error`` (an import path; subclasses too) are ``kind`` because ``why``."""

    error: str
    kind: ErrorKind
    why: str


#: Errors by type, most specific first; the first row whose type the error is an instance of decides.
ERROR_TYPES: tuple[ErrorRule, ...] = (
    # this provider's own
    ErrorRule(
        "airflow_provider_enterprise.exceptions.PermanentJobError", PERMANENT, "a missing input, a plan error, bad rows"
    ),
    ErrorRule("airflow_provider_enterprise.exceptions.JobCancelledError", PERMANENT, "someone stopped the job"),
    ErrorRule(
        "airflow_provider_enterprise.spec.models.InvalidJobSpec", PERMANENT, "the spec is wrong (also once rendered)"
    ),
    ErrorRule(
        "airflow_provider_enterprise.exceptions.MetadataDatabaseNotConfigured", PERMANENT, "no registry configured"
    ),
    ErrorRule(
        "airflow_provider_enterprise.exceptions.RegistryConnectionRefused", PERMANENT, "TLS or login settings refused"
    ),
    ErrorRule("airflow_provider_enterprise.exceptions.JobTimeoutError", TRANSIENT, "a timeout: the next try may fit"),
    ErrorRule(
        "airflow_provider_enterprise.exceptions.SparkApplicationError", TRANSIENT, "lost executors, cluster unreachable"
    ),
    ErrorRule(
        "airflow_provider_enterprise.resilience.circuit_breaker.CircuitOpenError", TRANSIENT, "the breaker reopens"
    ),
    ErrorRule("airflow.sdk.exceptions.AirflowTaskTimeout", TRANSIENT, "the task's execution_timeout: a timeout"),
    # DuckDB
    ErrorRule("duckdb.InterruptException", TRANSIENT, "interrupted (a timeout or a kill)"),
    ErrorRule("duckdb.OutOfMemoryException", TRANSIENT, "memory other jobs hold is freed when they end"),
    ErrorRule("duckdb.ConversionException", PERMANENT, "a value does not convert: the same data fails again"),
    ErrorRule("duckdb.OutOfRangeException", PERMANENT, "an overflow: the same data fails again"),
    ErrorRule("duckdb.InvalidInputException", PERMANENT, "a corrupt or unreadable input file"),
    ErrorRule("duckdb.IOException", PERMANENT, "a file that cannot be read or written (HTTP: by status)"),
    ErrorRule("duckdb.Error", PERMANENT, "binder, catalog, parser, type mismatch: the job is wrong"),
    # Spark
    ErrorRule("py4j.protocol.Py4JNetworkError", TRANSIENT, "the driver's JVM went away"),
    ErrorRule(
        "py4j.protocol.Py4JJavaError", TRANSIENT, "a JVM failure with no SQLSTATE: aborted stages, lost executors"
    ),
    ErrorRule("pyspark.errors.AnalysisException", PERMANENT, "a missing column, table or path; a type mismatch"),
    ErrorRule("pyspark.errors.IllegalArgumentException", PERMANENT, "a bad value (NumberFormatException: a cast)"),
    ErrorRule("pyspark.errors.ArithmeticException", PERMANENT, "an overflow: the same data fails again"),
    ErrorRule("pyspark.errors.DateTimeException", PERMANENT, "a bad date: the same data fails again"),
    ErrorRule("pyspark.errors.PySparkException", PERMANENT, "Spark reports an error of the job (gRPC: by status)"),
    # PostgreSQL (the registry); a SQLSTATE decides first
    ErrorRule("psycopg.OperationalError", TRANSIENT, "no SQLSTATE: the connection failed (a restarting server)"),
    ErrorRule("psycopg2.OperationalError", TRANSIENT, "no SQLSTATE: the connection failed (a restarting server)"),
    # HTTP clients (status codes decide first)
    ErrorRule("httpx.UnsupportedProtocol", PERMANENT, "a URL the client cannot speak: the configuration is wrong"),
    ErrorRule("httpx.TransportError", TRANSIENT, "connection refused or reset, a timeout"),
    # object stores (botocore under s3fs; a ClientError's HTTP status decides first)
    ErrorRule("botocore.exceptions.ConnectionError", TRANSIENT, "the store's endpoint cannot be reached or timed out"),
    ErrorRule("botocore.exceptions.HTTPClientError", TRANSIENT, "the connection to the store broke off"),
    # Python
    ErrorRule("ConnectionError", TRANSIENT, "connection refused, reset or aborted"),
    ErrorRule("TimeoutError", TRANSIENT, "a timeout"),
    ErrorRule("OSError", PERMANENT, "a file system error: permission, read-only, full, missing"),
    ErrorRule("RecursionError", PERMANENT, "too deeply nested: the same input recurses as deep again"),
    ErrorRule("MemoryError", PERMANENT, "the job does not fit this worker's memory"),
)

#: ``OSError`` errnos (these decide before the type).
ERRNOS: dict[int, tuple[ErrorKind, str]] = {
    errno.EROFS: (PERMANENT, "read-only file system"),
    errno.ENOSPC: (PERMANENT, "no space left on the device"),
    errno.EDQUOT: (PERMANENT, "disk quota exceeded"),
    errno.EACCES: (PERMANENT, "permission denied"),
    errno.EPERM: (PERMANENT, "operation not permitted"),
    errno.ENOENT: (PERMANENT, "no such file or directory"),
    errno.ENOTDIR: (PERMANENT, "not a directory"),
    errno.EISDIR: (PERMANENT, "is a directory"),
    errno.ECONNREFUSED: (TRANSIENT, "connection refused: the server is down or restarting"),
    errno.ECONNRESET: (TRANSIENT, "connection reset"),
    errno.ECONNABORTED: (TRANSIENT, "connection aborted"),
    errno.EPIPE: (TRANSIENT, "broken pipe: the peer closed the connection"),
    errno.ETIMEDOUT: (TRANSIENT, "timed out"),
    errno.EHOSTUNREACH: (TRANSIENT, "host unreachable"),
    errno.ENETUNREACH: (TRANSIENT, "network unreachable"),
    errno.EAGAIN: (TRANSIENT, "resource temporarily unavailable"),
    errno.EBUSY: (TRANSIENT, "device or resource busy (an object store's SlowDown or 503)"),
    errno.EREMOTEIO: (TRANSIENT, "an object store's internal error (HTTP 500)"),
    socket.EAI_AGAIN: (TRANSIENT, "temporary failure in name resolution"),
}

#: SQLSTATEs (PostgreSQL, Spark) a retry can cure, by code or by class (two characters); every other one is permanent
#: (22 data, 23 integrity, 28 authorization, 42 syntax or access, 53100 disk full, ...).
TRANSIENT_SQLSTATES: dict[str, str] = {
    "08": "connection exception",
    "40": "transaction rollback: serialization failure (40001), deadlock (40P01)",
    "53000": "insufficient resources",
    "53200": "out of memory",
    "53300": "too many connections",
    "55P03": "lock not available",
    "57014": "query cancelled (a statement timeout)",
    "57P01": "admin shutdown",
    "57P02": "crash shutdown",
    "57P03": "cannot connect now (starting up)",
}

#: gRPC status codes (Spark Connect) a retry can cure; other codes fall through to the type.
TRANSIENT_GRPC_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"})


def _resolve(path: str) -> type | None:
    """The class named ``path`` (``module.Name`` or a builtin's name), if its module is already imported."""
    module, _, name = path.rpartition(".")
    owner = sys.modules.get(module or "builtins")
    found = getattr(owner, name, None) if owner is not None else None
    return found if isinstance(found, type) else None


def _names(cls: type) -> set[str]:
    return {cls.__name__, f"{cls.__module__}.{cls.__qualname__}"}


def _named_kind(error: BaseException, settings: RetryPolicySettings) -> ErrorKind | None:
    """The kind a policy's ``transient_errors`` / ``permanent_errors`` give ``error``; its nearest class decides."""
    lists = ((TRANSIENT, settings.transient_errors), (PERMANENT, settings.permanent_errors))
    for cls in type(error).__mro__:
        for kind, names in lists:
            if any(name in _names(cls) or _resolve(name) is cls for name in names):
                return kind
    return None


def _sqlstate(error: BaseException) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)  # psycopg 3, psycopg2
    if code is None and hasattr(error, "getSqlState"):  # PySpark
        try:
            code = error.getSqlState()
        except Exception:  # a captured error asks the JVM, which may be gone
            code = None
    if code is None and (java := getattr(error, "java_exception", None)) is not None:  # an unconverted JVM error
        try:
            code = java.getSqlState() if java.getClass().getName().startswith("org.apache.spark.") else None
        except Exception:  # not a SparkThrowable, or the JVM is gone
            code = None
    return code if isinstance(code, str) and len(code) == 5 else None


def _status(error: BaseException) -> int | None:
    """An HTTP error's status code (httpx, DuckDB's httpfs, urllib, botocore's ClientError)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):  # botocore
        response = response.get("ResponseMetadata", {})
        status = response.get("HTTPStatusCode")
    else:
        status = getattr(response, "status_code", None) if response is not None else None
    status = status if status is not None else getattr(error, "status_code", None)
    if status is None and type(error).__name__ == "HTTPError":  # urllib.error.HTTPError
        status = getattr(error, "code", None)
    return status if isinstance(status, int) and status > 0 else None


def _grpc_code(error: BaseException) -> str | None:
    """A Spark Connect or gRPC error's status code name (``UNAVAILABLE``, ...)."""
    if not type(error).__module__.startswith(("pyspark", "grpc")):
        return None
    for method in ("getGrpcStatusCode", "code"):  # Spark Connect's, grpc.RpcError's
        if callable(getattr(error, method, None)):
            try:
                return getattr(getattr(error, method)(), "name", None)
            except Exception:  # an RpcError that is not a call
                return None
    return None


def _by_code(error: BaseException) -> ErrorKind | None:
    """The kind an error's errno, SQLSTATE, HTTP or gRPC status gives it (None: the code does not decide)."""
    if isinstance(error, OSError) and error.errno in ERRNOS:
        return ERRNOS[error.errno][0]
    if (state := _sqlstate(error)) is not None:
        return TRANSIENT if state in TRANSIENT_SQLSTATES or state[:2] in TRANSIENT_SQLSTATES else PERMANENT
    if (status := _status(error)) is not None:
        return TRANSIENT if status == 429 or status >= 500 else PERMANENT
    if _grpc_code(error) in TRANSIENT_GRPC_CODES:
        return TRANSIENT
    return None


def _by_type(error: BaseException) -> ErrorKind:
    for rule in ERROR_TYPES:
        cls = _resolve(rule.error)
        if cls is not None and isinstance(error, cls):
            return rule.kind
    return PERMANENT


#: The top-level packages whose errors are an object store's (its client, transport or filesystem).
STORAGE_PACKAGES = frozenset({"botocore", "aiobotocore", "s3fs", "aiohttp", "gcsfs", "google", "azure", "adlfs"})


def is_storage_error(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, comes from an object store's client (the failures that the
    circuit breakers of storage connections count)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__module__.partition(".")[0] in STORAGE_PACKAGES:
            return True
        current = current.__cause__ or current.__context__
    return False


def classify_error(error: BaseException, policy: RetryPolicySettings | None = None) -> ErrorKind:
    """
    Return whether ``error`` is permanent or transient.

    :param error: the error a try failed with.
    :param policy: the job's retry policy, whose ``transient_errors`` and ``permanent_errors`` (class names or
        dotted names, subclasses included) decide before the table.
    """
    if policy is not None and (named := _named_kind(error, policy)) is not None:
        return named
    return _by_code(error) or _by_type(error)
