"""
Every row of the error table (``resilience/errors.py``, docs/resilience.md), with errors the real libraries raise
wherever this machine can make them (DuckDB queries, sockets, files, gRPC, HTTP); the rest are constructed. SQLSTATEs
from a real PostgreSQL: ``tests/integration/resilience/test_error_sqlstates.py``.
"""

from __future__ import annotations

import errno
import gc
import http.server
import re
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import duckdb
import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout

from airflow_provider_enterprise.config import RetryPolicySettings
from airflow_provider_enterprise.exceptions import (
    InputNotFoundError,
    JobCancelledError,
    MetadataDatabaseNotConfigured,
    RegistryConnectionRefused,
    SparkApplicationError,
)
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitOpenError
from airflow_provider_enterprise.resilience.errors import (
    ERRNOS,
    ERROR_TYPES,
    TRANSIENT_SQLSTATES,
    ErrorKind,
    classify_error,
    is_storage_error,
)
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import CORRUPT_PARQUET, REPO

PERMANENT, TRANSIENT = ErrorKind.PERMANENT, ErrorKind.TRANSIENT


def raised(action: Callable[[], object]) -> BaseException:
    """The error ``action`` raises."""
    try:
        action()
    except BaseException as err:  # noqa: BLE001 - the error is the result
        return err
    raise AssertionError("nothing was raised")


def closed_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- DuckDB -----------------------------------------------------------------------------------------------------


def duck(sql: str, **config: str) -> BaseException:
    con = duckdb.connect(config=config)
    try:
        return raised(lambda: con.sql(sql).fetchall())
    finally:
        con.close()


def corrupt_parquet(tmp: Path) -> BaseException:
    (tmp / "c.parquet").write_bytes(CORRUPT_PARQUET)
    return duck(f"SELECT * FROM read_parquet('{tmp}/c.parquet')")


def broken_json_line(tmp: Path) -> BaseException:
    (tmp / "b.jsonl").write_text('{"a": 1}\n{"a": \n')
    return duck(f"SELECT * FROM read_json('{tmp}/b.jsonl', format='newline_delimited')")


def record_over_the_line_size(tmp: Path) -> BaseException:
    (tmp / "l.csv").write_text("a,b\n1," + "x" * 5000 + "\n")
    return duck(f"SELECT * FROM read_csv('{tmp}/l.csv', max_line_size=1000)")


def interrupted(_: Path) -> BaseException:
    con = duckdb.connect()
    timer = threading.Timer(0.2, con.interrupt)
    timer.start()
    try:
        return raised(lambda: con.sql("SELECT count(*) FROM range(10000000000) a, range(10) b").fetchall())
    finally:
        timer.cancel()
        con.close()


def out_of_memory(_: Path) -> BaseException:
    return duck("SELECT list(range) FROM range(20000000)", memory_limit="20MB", temp_directory="")


# -- sockets, files, HTTP, gRPC ---------------------------------------------------------------------------------


def connection_refused(_: Path) -> BaseException:
    return raised(lambda: socket.create_connection(("127.0.0.1", closed_port()), timeout=2))


def connection_reset(_: Path) -> BaseException:
    with closing(socket.socket()) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname(), timeout=2)
        accepted, _address = server.accept()
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
        accepted.close()
        with closing(client):
            return raised(lambda: client.recv(1))


def read_timeout(_: Path) -> BaseException:
    with closing(socket.socket()) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with closing(socket.create_connection(server.getsockname(), timeout=0.05)) as client:
            return raised(lambda: client.recv(1))  # nobody writes


def broken_pipe(_: Path) -> BaseException:
    left, right = socket.socketpair()
    right.close()
    with closing(left):
        return raised(lambda: [left.send(b"x" * 65536) for _ in range(100)])


def would_block(_: Path) -> BaseException:
    left, right = socket.socketpair()
    left.setblocking(False)
    with closing(left), closing(right):
        return raised(lambda: left.recv(1))


def disk_full(_: Path) -> BaseException:
    def write() -> None:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(b"x")

    return raised(write)


def symlink_loop(tmp: Path) -> BaseException:
    (tmp / "loop").symlink_to(tmp / "loop")
    return raised(lambda: (tmp / "loop").read_text())


@contextmanager
def http_server(status: int) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def http_status(status: int) -> Callable[[Path], BaseException]:
    def make(_: Path) -> BaseException:
        import httpx

        with http_server(status) as url:
            return raised(lambda: httpx.get(url, timeout=5).raise_for_status())

    return make


def http_connect_error(_: Path) -> BaseException:
    import httpx

    return raised(lambda: httpx.get(f"http://127.0.0.1:{closed_port()}/", timeout=5))


def grpc_unavailable(_: Path) -> BaseException:
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{closed_port()}") as channel:
        return raised(lambda: channel.unary_unary("/spark.connect.SparkConnectService/Config")(b"", timeout=5))


# -- Spark (Spark Connect's classes, as its client builds them from the server's answer) -------------------------


def spark_connect(name: str, **fields) -> Callable[[Path], BaseException]:
    def make(_: Path) -> BaseException:
        from pyspark.errors.exceptions import connect

        return getattr(connect, name)(message=f"{name} from the server", **fields)

    return make


def grpc_status(code: str) -> Callable[[Path], BaseException]:
    def make(_: Path) -> BaseException:
        import grpc
        from pyspark.errors.exceptions.connect import SparkConnectGrpcException

        return SparkConnectGrpcException(message="RPC failed", grpc_status_code=getattr(grpc.StatusCode, code))

    return make


def py4j_java_error(_: Path) -> BaseException:
    """A JVM exception py4j hands over unconverted (a bare gateway, not Spark: it has no SQLSTATE)."""
    from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway

    gateway = JavaGateway(gateway_parameters=GatewayParameters(port=launch_gateway(die_on_exit=True)))
    try:
        return raised(lambda: gateway.jvm.java.lang.Integer.parseInt("two"))
    finally:
        gateway.shutdown()


def py4j_network_error(_: Path) -> BaseException:
    from py4j.java_gateway import GatewayParameters, JavaGateway

    gateway = JavaGateway(gateway_parameters=GatewayParameters(port=closed_port()))
    return raised(lambda: gateway.jvm.java.lang.System.currentTimeMillis())


def postgres_refused(driver: str) -> Callable[[Path], BaseException]:
    def make(_: Path) -> BaseException:
        module = __import__(driver)
        return raised(lambda: module.connect(host="127.0.0.1", port=closed_port(), connect_timeout=5))

    return make


def big_parquet(tmp: Path) -> Path:
    """An input the local engine needs far longer than 1 ms for (a deadline is enforced while a query runs)."""
    path = tmp / "big.parquet"
    duckdb.sql(
        f"COPY (SELECT range AS id, range % 1000 AS category, random() AS amount FROM range(3000000)) TO '{path}'"
    )
    return path


def job_timeout(tmp: Path) -> BaseException:
    from airflow_provider_enterprise.engines.local import LocalEngine

    spec = validate_job_spec(
        {
            "job_name": "slow",
            "input_path": str(big_parquet(tmp)),
            "output_path": str(tmp / "out"),
            "timeout": 0.001,
            "processing_logic": {"transformations": [{"type": "filter", "condition": "amount > 0"}]},
        }
    )
    return raised(lambda: LocalEngine(threads=1).run(spec))


def recursion(_: Path) -> BaseException:
    """A real RecursionError, with the garbage collector off while at depth.

    A collection at the recursion limit runs finalizers that themselves overflow, and pytest reports those as
    unraisable errors of the test (CI run of stop 38).
    """

    def down(n: int) -> int:
        return down(n + 1) + 1

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return raised(lambda: down(0))
    finally:
        if was_enabled:
            gc.enable()


# -- object stores (botocore, as s3fs calls it) --------------------------------------------------------------------


def s3_client(endpoint: str):
    """A boto3 S3 client of ``endpoint`` that tries once (botocore retries connection errors and 5xx itself)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=2)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
        config=config,
    )


def s3_unreachable(_: Path) -> BaseException:
    return raised(lambda: s3_client(f"http://127.0.0.1:{closed_port()}").get_object(Bucket="data", Key="in.csv"))


def s3_connection_closed(_: Path) -> BaseException:
    """A store that accepts the connection and closes it without answering."""
    with closing(socket.socket()) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def hang_up() -> None:
            with suppress(OSError):
                while True:
                    server.accept()[0].close()

        threading.Thread(target=hang_up, daemon=True).start()
        return raised(lambda: s3_client(f"http://127.0.0.1:{port}").get_object(Bucket="data", Key="in.csv"))


def s3_status(status: int) -> Callable[[Path], BaseException]:
    def make(_: Path) -> BaseException:
        with http_server(status) as url:
            return raised(lambda: s3_client(url.rstrip("/")).get_object(Bucket="data", Key="in.csv"))

    return make


def constructed(error: BaseException) -> Callable[[Path], BaseException]:
    return lambda _: error


#: (the table row it covers, how to get the error, its kind); rows by type name, errnos by number.
CASES: list[tuple[str | int, Callable[[Path], BaseException], ErrorKind]] = [
    # this provider's
    ("airflow_provider_enterprise.exceptions.PermanentJobError", constructed(InputNotFoundError("/in.csv")), PERMANENT),
    ("airflow_provider_enterprise.exceptions.JobCancelledError", constructed(JobCancelledError("stopped")), PERMANENT),
    (
        "airflow_provider_enterprise.spec.models.InvalidJobSpec",
        lambda _: raised(lambda: validate_job_spec({})),
        PERMANENT,
    ),
    (
        "airflow_provider_enterprise.exceptions.MetadataDatabaseNotConfigured",
        constructed(MetadataDatabaseNotConfigured("none")),
        PERMANENT,
    ),
    (
        "airflow_provider_enterprise.exceptions.RegistryConnectionRefused",
        constructed(RegistryConnectionRefused("password authentication failed")),
        PERMANENT,
    ),
    ("airflow_provider_enterprise.exceptions.JobTimeoutError", job_timeout, TRANSIENT),
    (
        "airflow_provider_enterprise.exceptions.SparkApplicationError",
        constructed(SparkApplicationError("lost executors")),
        TRANSIENT,
    ),
    (
        "airflow_provider_enterprise.resilience.circuit_breaker.CircuitOpenError",
        constructed(CircuitOpenError("spark:x", "open", 0)),
        TRANSIENT,
    ),
    ("airflow.sdk.exceptions.AirflowTaskTimeout", constructed(AirflowTaskTimeout("execution_timeout")), TRANSIENT),
    # DuckDB
    ("duckdb.InterruptException", interrupted, TRANSIENT),
    ("duckdb.OutOfMemoryException", out_of_memory, TRANSIENT),
    ("duckdb.ConversionException", lambda _: duck("SELECT CAST('two' AS DOUBLE)"), PERMANENT),
    ("duckdb.OutOfRangeException", lambda _: duck("SELECT id * 2147483647 FROM (SELECT 2::INTEGER AS id)"), PERMANENT),
    ("duckdb.InvalidInputException", corrupt_parquet, PERMANENT),
    ("duckdb.InvalidInputException", broken_json_line, PERMANENT),
    ("duckdb.InvalidInputException", record_over_the_line_size, PERMANENT),
    ("duckdb.IOException", lambda tmp: duck(f"SELECT * FROM read_csv('{tmp}/missing.csv')"), PERMANENT),
    ("duckdb.Error", lambda _: duck("SELECT nope FROM range(1)"), PERMANENT),  # a missing column
    ("duckdb.Error", lambda _: duck("SELECT 'a' + 1"), PERMANENT),  # a type mismatch
    # Spark
    ("py4j.protocol.Py4JNetworkError", py4j_network_error, TRANSIENT),
    ("py4j.protocol.Py4JJavaError", py4j_java_error, TRANSIENT),
    ("pyspark.errors.AnalysisException", spark_connect("AnalysisException"), PERMANENT),
    ("pyspark.errors.IllegalArgumentException", spark_connect("NumberFormatException"), PERMANENT),
    ("pyspark.errors.ArithmeticException", spark_connect("ArithmeticException"), PERMANENT),
    ("pyspark.errors.DateTimeException", spark_connect("DateTimeException"), PERMANENT),
    ("pyspark.errors.PySparkException", grpc_status("INTERNAL"), PERMANENT),
    # PostgreSQL without a SQLSTATE: the connection failed
    ("psycopg.OperationalError", postgres_refused("psycopg"), TRANSIENT),
    ("psycopg2.OperationalError", postgres_refused("psycopg2"), TRANSIENT),
    # HTTP clients
    ("httpx.UnsupportedProtocol", lambda _: raised(lambda: __import__("httpx").get("ftp://127.0.0.1/x")), PERMANENT),
    ("httpx.TransportError", http_connect_error, TRANSIENT),
    # object stores
    ("botocore.exceptions.ConnectionError", s3_unreachable, TRANSIENT),
    ("botocore.exceptions.HTTPClientError", s3_connection_closed, TRANSIENT),
    # Python
    ("ConnectionError", constructed(ConnectionAbortedError("aborted")), TRANSIENT),
    ("TimeoutError", read_timeout, TRANSIENT),
    ("OSError", symlink_loop, PERMANENT),
    ("RecursionError", recursion, PERMANENT),
    ("MemoryError", lambda _: raised(lambda: bytearray(2**62)), PERMANENT),
    # errnos
    (errno.EROFS, constructed(OSError(errno.EROFS, "Read-only file system", "/data/out")), PERMANENT),
    (errno.ENOSPC, disk_full, PERMANENT),
    (errno.EDQUOT, constructed(OSError(errno.EDQUOT, "Disk quota exceeded")), PERMANENT),
    (errno.EACCES, constructed(PermissionError(errno.EACCES, "Permission denied", "/data/out")), PERMANENT),
    (errno.EPERM, constructed(PermissionError(errno.EPERM, "Operation not permitted")), PERMANENT),
    (errno.ENOENT, lambda tmp: raised(lambda: (tmp / "missing.csv").read_text()), PERMANENT),
    (errno.ENOTDIR, lambda _: raised(lambda: (REPO / "pyproject.toml" / "x").read_text()), PERMANENT),
    (errno.EISDIR, lambda tmp: raised(lambda: tmp.write_text("x")), PERMANENT),
    (errno.ECONNREFUSED, connection_refused, TRANSIENT),
    (errno.ECONNRESET, connection_reset, TRANSIENT),
    (
        errno.ECONNABORTED,
        constructed(ConnectionAbortedError(errno.ECONNABORTED, "Software caused connection abort")),
        TRANSIENT,
    ),
    (errno.EPIPE, broken_pipe, TRANSIENT),
    (errno.ETIMEDOUT, constructed(TimeoutError(errno.ETIMEDOUT, "Connection timed out")), TRANSIENT),
    (errno.EHOSTUNREACH, constructed(OSError(errno.EHOSTUNREACH, "No route to host")), TRANSIENT),
    (errno.ENETUNREACH, constructed(OSError(errno.ENETUNREACH, "Network is unreachable")), TRANSIENT),
    (errno.EAGAIN, would_block, TRANSIENT),
    (errno.EBUSY, constructed(OSError(errno.EBUSY, "Device or resource busy")), TRANSIENT),
    (errno.EREMOTEIO, constructed(OSError(errno.EREMOTEIO, "We encountered an internal error")), TRANSIENT),
    (
        socket.EAI_AGAIN,
        constructed(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
        TRANSIENT,
    ),
]

#: Codes that decide before the type: HTTP and gRPC statuses.
STATUS_CASES = [
    ("HTTP 503", http_status(503), TRANSIENT),
    ("HTTP 500", http_status(500), TRANSIENT),
    ("HTTP 429", http_status(429), TRANSIENT),
    ("HTTP 404", http_status(404), PERMANENT),
    ("HTTP 403", http_status(403), PERMANENT),
    ("S3 503 (botocore ClientError)", s3_status(503), TRANSIENT),
    ("S3 403 (botocore ClientError)", s3_status(403), PERMANENT),
    ("S3 404 (botocore ClientError)", s3_status(404), PERMANENT),
    ("gRPC UNAVAILABLE (a real channel)", grpc_unavailable, TRANSIENT),
    ("gRPC UNAVAILABLE (Spark Connect)", grpc_status("UNAVAILABLE"), TRANSIENT),
    ("gRPC DEADLINE_EXCEEDED", grpc_status("DEADLINE_EXCEEDED"), TRANSIENT),
    ("gRPC RESOURCE_EXHAUSTED", grpc_status("RESOURCE_EXHAUSTED"), TRANSIENT),
    ("gRPC ABORTED", grpc_status("ABORTED"), TRANSIENT),
    ("gRPC PERMISSION_DENIED", grpc_status("PERMISSION_DENIED"), PERMANENT),
    ("gRPC UNAUTHENTICATED", grpc_status("UNAUTHENTICATED"), PERMANENT),
    ("Spark SQLSTATE 22018", spark_connect("NumberFormatException", sql_state="22018"), PERMANENT),
    ("Spark SQLSTATE 42703", spark_connect("AnalysisException", sql_state="42703"), PERMANENT),
    ("Spark SQLSTATE 53200", spark_connect("SparkRuntimeException", sql_state="53200"), TRANSIENT),  # memory
    ("Spark SQLSTATE KD001", spark_connect("SparkException", sql_state="KD001"), PERMANENT),  # unreadable file
]


def case_id(row: str | int) -> str:
    return errno.errorcode.get(row, str(row)) if isinstance(row, int) else row.rsplit(".", 1)[-1]


@pytest.mark.parametrize(("row", "make", "kind"), CASES, ids=[f"{case_id(r)}-{k.value}" for r, _, k in CASES])
def test_each_row_classifies_the_errors_it_names(tmp_path: Path, row, make, kind: ErrorKind) -> None:
    error = make(tmp_path)
    if isinstance(row, int):
        assert isinstance(error, OSError) and error.errno == row, repr(error)
        assert ERRNOS[row][0] is kind
    else:
        (rule,) = {r for r in ERROR_TYPES if r.error == row}
        cls = getattr(sys.modules[row.rpartition(".")[0] or "builtins"], row.rpartition(".")[2])
        assert isinstance(error, cls), repr(error)
        assert rule.kind is kind
    assert classify_error(error) is kind, repr(error)


@pytest.mark.parametrize(("name", "make", "kind"), STATUS_CASES, ids=[n for n, _, _ in STATUS_CASES])
def test_status_codes_decide_before_the_type(tmp_path: Path, name: str, make, kind: ErrorKind) -> None:
    assert classify_error(make(tmp_path)) is kind


def test_every_row_has_a_case() -> None:
    covered = {row for row, _, _ in CASES}
    assert {rule.error for rule in ERROR_TYPES} - covered == set()
    assert set(ERRNOS) - covered == set()


@pytest.mark.parametrize(
    "error",
    [ValueError("x"), RuntimeError("boom"), KeyError("k"), TypeError("t"), Exception("unknown")],
    ids=lambda e: type(e).__name__,
)
def test_an_error_the_table_does_not_name_is_permanent(error: BaseException) -> None:
    assert classify_error(error) is PERMANENT


def test_a_policy_moves_classes_by_name_or_dotted_name_nearest_class_first(tmp_path: Path) -> None:
    corrupt = corrupt_parquet(tmp_path)
    conversion = duck("SELECT CAST('two' AS DOUBLE)")
    by_name = RetryPolicySettings(
        max_attempts=2, initial_delay=1, max_delay=1, transient_errors=("InvalidInputException",)
    )
    assert (classify_error(corrupt, by_name), classify_error(conversion, by_name)) == (TRANSIENT, PERMANENT)
    dotted = by_name.model_copy(update={"transient_errors": ("duckdb.InvalidInputException",)})
    assert classify_error(corrupt, dotted) is TRANSIENT
    # the whole DuckDB family transient, but conversions permanent: the nearer class wins
    family = RetryPolicySettings(
        max_attempts=2,
        initial_delay=1,
        max_delay=1,
        transient_errors=("duckdb.Error",),
        permanent_errors=("ConversionException",),
    )
    assert (classify_error(corrupt, family), classify_error(conversion, family)) == (TRANSIENT, PERMANENT)
    # and the other way: a timeout this job must not retry
    no_timeouts = RetryPolicySettings(max_attempts=2, initial_delay=1, max_delay=1, permanent_errors=("TimeoutError",))
    assert classify_error(read_timeout(tmp_path), no_timeouts) is PERMANENT
    assert classify_error(connection_refused(tmp_path), no_timeouts) is TRANSIENT


def test_a_policy_cannot_name_a_class_both_ways() -> None:
    with pytest.raises(ValueError, match="ConversionException cannot be both transient_errors and permanent_errors"):
        RetryPolicySettings(
            max_attempts=2,
            initial_delay=1,
            max_delay=1,
            transient_errors=("ConversionException",),
            permanent_errors=("ConversionException",),
        )


def docs_table() -> dict[str, tuple[str, str]]:
    text = (REPO / "docs" / "resilience.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| (permanent|transient) \| (.+?) \|$", text, flags=re.MULTILINE)
    return {error: (kind, why) for error, kind, why in rows}


def test_the_docs_table_is_the_code_table() -> None:
    documented = docs_table()
    assert {rule.error: (rule.kind.value, rule.why) for rule in ERROR_TYPES}.items() <= documented.items()
    for code, (kind, why) in ERRNOS.items():
        assert documented[f"errno {errno.errorcode.get(code) or 'EAI_AGAIN'}"] == (kind.value, why)
    for state, why in TRANSIENT_SQLSTATES.items():
        assert documented[f"SQLSTATE {state}"] == ("transient", why)


def test_storage_errors_are_told_by_their_client_through_the_chain(tmp_path: Path) -> None:
    unreachable = s3_unreachable(tmp_path)
    assert is_storage_error(unreachable)
    try:
        raise RuntimeError("the engine failed") from unreachable
    except RuntimeError as wrapped:
        assert is_storage_error(wrapped)
    # the same kind of failure of something else: the registry, a Spark master
    assert not is_storage_error(connection_refused(tmp_path))
    assert not is_storage_error(read_timeout(tmp_path))
