"""
Health checks of an installation: the registry database, the Spark engine and the circuit breakers.

``enterprise-orchestrator doctor`` prints them; the plugin's ``GET /enterprise/health`` returns them. Every
detail is written for an operator and carries no credentials.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from airflow_provider_enterprise import embedded_db
from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.hooks.spark_status import SparkMasterStatusHook, master_ui_url


@dataclass(frozen=True)
class Check:
    """The outcome of one check: whether it passed, and what was found (or how to fix it)."""

    ok: bool
    detail: str


def check_embedded(settings: Settings) -> Check:
    """Say whether the embedded development registry is in use and running (never a failure)."""
    if settings.database_url is not None:
        return Check(True, "registry URL configured (DATABASE_URL / [enterprise] database_url)")
    reason = embedded_db.refusal_reason(settings)
    if reason:
        return Check(True, f"embedded default refused: {reason}; configure DATABASE_URL or the Airflow connection")
    directory = embedded_db.data_dir(settings)
    server = embedded_db.running_server(directory)
    return Check(True, f"embedded default {'running' if server else 'not running'} in {directory}")


def check_registry(settings: Settings, hook: Any = None) -> Check:
    """Check that the registry database answers and has every migration applied."""
    from airflow_provider_enterprise.exceptions import MetadataDatabaseNotConfigured
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, migration_files

    try:
        hook = hook or EnterpriseMetadataHook(settings=settings)
        target = hook.describe_target()
        with hook.single_attempt():  # a health check answers now, not after the reconnect back-off
            applied = set(hook.applied_migrations())
    except MetadataDatabaseNotConfigured as err:
        return Check(False, str(err))
    except Exception as err:  # unreachable server, bad credentials
        return Check(False, f"cannot connect to the registry: {type(err).__name__}: {err}".strip())
    pending = [v for v, _ in migration_files() if v not in applied]
    if pending:
        return Check(False, f"{target}: pending migrations {', '.join(pending)}; run `enterprise-orchestrator migrate`")
    return Check(True, f"{target}: reachable, schema up to date")


def pyspark_mismatch() -> str | None:
    """Say how to fix a pyspark whose Python files and jars differ (pyspark-client overwrote them), if they do."""
    try:
        import pyspark
    except ImportError:
        return "pyspark is not installed: install airflow-provider-enterprise[spark]"
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("spark-core_*.jar"))
    jar_version = jars[0].stem.rsplit("-", 1)[-1] if jars else None
    if jar_version and jar_version != pyspark.__version__:
        return (
            f"pyspark's Python files report {pyspark.__version__} but its jars are {jar_version}: pyspark-client "
            f"overwrote them; reinstall pyspark=={jar_version} with pyspark-client excluded (docs/engines.md)"
        )
    return None


def check_spark(settings: Settings) -> Check:
    """Check the Spark engine: pyspark installed and consistent, the master reachable with a live worker."""
    spark = settings.engines.spark
    if not spark.enabled:
        return Check(True, "spark engine disabled")
    mismatch = pyspark_mismatch()
    if mismatch:
        return Check(False, mismatch)
    master = spark.master
    if master.startswith("local"):
        java = shutil.which("java")
        if not java:
            return Check(False, f"master {master!r} needs Java 17+ on PATH; install a JDK")
        return Check(True, f"master {master!r} (in-process, java at {java})")
    ui_url = master_ui_url(master, spark.master_ui_url)
    if ui_url:
        try:
            status = SparkMasterStatusHook(ui_url).status()
        except httpx.HTTPError as err:
            return Check(
                False, f"master {master!r} unreachable (web UI {ui_url}: {err}); start it or set SPARK_MASTER_URL"
            )
        return Check(
            status.alive_workers > 0,
            f"master {master!r} {status.status}: {status.alive_workers} workers, "
            f"{status.cores_used}/{status.cores} cores in use, {status.memory_used_mb}/{status.memory_mb} MB"
            + ("" if status.alive_workers else "; no worker is alive: start one"),
        )
    parts = urlsplit(master.replace("sc://", "tcp://"))
    if parts.hostname and parts.port:
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=3):
                return Check(True, f"master {master!r} reachable")
        except OSError as err:
            return Check(False, f"master {master!r} unreachable ({err}); start it or set SPARK_MASTER_URL")
    return Check(True, f"master {master!r} (reachability not checked for this scheme)")


def circuit_summary(hook: Any) -> dict[str, Any]:
    """Return how many breakers are in each state and the names of those not closed."""
    from airflow_provider_enterprise.resilience.circuit_breaker import BreakerState, list_breakers

    breakers = list_breakers(hook)
    counts = {state.value: sum(1 for b in breakers if b["state"] == state) for state in BreakerState}
    return {**counts, "not_closed": [b["name"] for b in breakers if b["state"] != BreakerState.CLOSED]}
