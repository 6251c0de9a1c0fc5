"""
Health checks of an installation: the registry database, the Spark engine and the circuit breakers.

``enterprise-orchestrator doctor`` prints them; the plugin's ``GET /enterprise/health`` returns them. Every
detail is written for an operator and carries no credentials.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from airflow_provider_enterprise.clients.spark_status import SparkMasterStatusHook
from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.dev import embedded_db


@dataclass(frozen=True)
class Check:
    """
    The outcome of one check and what was found (or how to fix it).

    :param ok: True when it passed, False when it failed, None when nothing could be asked (unknown).
    """

    ok: bool | None
    detail: str

    @property
    def status(self) -> Literal["healthy", "unhealthy", "unknown"]:
        """``healthy``, ``unhealthy`` or ``unknown``."""
        return "unknown" if self.ok is None else "healthy" if self.ok else "unhealthy"


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
    """
    Check the Spark engine where its jobs go (the connection ``engines.spark.conn_id``, else ``engines.spark.master``):
    pyspark installed and consistent, then the cluster asked through the API its kind answers on (a standalone
    master's status, the Spark Connect server, the Kubernetes API server, the YARN ResourceManager). A cluster that
    cannot be asked is ``unknown``, never healthy.
    """
    spark = settings.engines.spark
    if not spark.enabled:
        return Check(True, "spark engine disabled")
    mismatch = pyspark_mismatch()
    if mismatch:
        return Check(False, mismatch)
    from airflow_provider_enterprise.engines.spark import resolve_target

    try:
        target = resolve_target(spark)
    except Exception as err:  # a connection that cannot be read or makes no master
        return Check(False, f"Spark connection {spark.conn_id!r}: {type(err).__name__}: {err}")
    where = f"master {target.display!r}" + (f" (connection {target.conn_id!r})" if target.conn_id else "")
    master = target.master
    if master.startswith("local"):
        java = shutil.which("java")
        if not java:
            return Check(False, f"{where} needs Java 17+ on PATH; install a JDK")
        return Check(True, f"{where}: in-process, java at {java}")
    try:
        if target.is_connect:
            return _check_connect(target.master, where)
        if master.startswith("spark://"):
            return _check_standalone(target.ui_url, where)
        if master.startswith("k8s://"):
            return _check_kubernetes(master.removeprefix("k8s://"), where, target.conn_id)
        if master.startswith("yarn"):
            return _check_yarn(target.conn_id, where)
    except httpx.HTTPError as err:
        return Check(False, f"{where} unreachable ({type(err).__name__}: {err}); start it or fix the connection")
    return Check(None, f"{where}: no API to ask for this kind of master")


def _check_standalone(ui_url: str | None, where: str) -> Check:
    if not ui_url:  # a list of masters (HA): which one leads is not known here
        return Check(None, f"{where}: no web UI known to ask; set engines.spark.master_ui_url")
    status = SparkMasterStatusHook(ui_url).status()
    return Check(
        status.status == "ALIVE" and status.alive_workers > 0,
        f"{where} {status.status}: {status.alive_workers} workers, "
        f"{status.cores_used}/{status.cores} cores in use, {status.memory_used_mb}/{status.memory_mb} MB"
        + ("" if status.alive_workers else "; no worker is alive: start one"),
    )


def _check_connect(url: str, where: str, timeout: float = 5.0) -> Check:
    """Ask the Spark Connect server for its Spark version (one gRPC call, with the URL's token and TLS)."""
    try:
        import grpc
        from pyspark.sql.connect import proto
        from pyspark.sql.connect.client import DefaultChannelBuilder
        from pyspark.sql.connect.proto.base_pb2_grpc import SparkConnectServiceStub
    except ImportError as err:
        return Check(False, f"{where}: the Spark Connect client is not installed ({err})")
    builder = DefaultChannelBuilder(url)
    request = proto.AnalyzePlanRequest(
        session_id=str(uuid.uuid4()),
        user_context=proto.UserContext(user_id=builder.userId or "enterprise-health"),
        spark_version=proto.AnalyzePlanRequest.SparkVersion(),
    )
    try:
        with builder.toChannel() as channel:
            stub = SparkConnectServiceStub(channel)  # type: ignore[no-untyped-call]  # generated by grpc, unannotated
            answer = stub.AnalyzePlan(request, metadata=builder.metadata(), timeout=timeout)
    except grpc.RpcError as err:
        return Check(False, f"{where} unreachable ({err.code().name}); start it or fix the connection")
    return Check(True, f"{where}: Spark Connect server, Spark {answer.spark_version.version}")


def _check_kubernetes(api: str, where: str, conn_id: str | None) -> Check:
    """Ask the Kubernetes API server for its version, with the token the application tracker uses."""
    from airflow_provider_enterprise.clients.spark_status import kubernetes_token, kubernetes_verify

    conn = _connection(conn_id)
    token = kubernetes_token(conn)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{api.rstrip('/')}/version", headers=headers, verify=kubernetes_verify(), timeout=5)
    if response.status_code in (401, 403):
        return Check(None, f"{where}: the API server refused to answer (HTTP {response.status_code}); check the token")
    response.raise_for_status()
    return Check(True, f"{where}: Kubernetes API server {response.json().get('gitVersion', '?')}")


def _check_yarn(conn_id: str | None, where: str) -> Check:
    """Ask the YARN ResourceManager named by the connection's ``yarn_resourcemanager_webapp_address``."""
    rm = (_connection(conn_id).extra_dejson if conn_id else {}).get("yarn_resourcemanager_webapp_address")
    if not rm:
        return Check(None, f"{where}: no ResourceManager address to ask (yarn_resourcemanager_webapp_address)")
    rm = rm if "://" in rm else f"http://{rm}"
    response = httpx.get(f"{rm.rstrip('/')}/ws/v1/cluster/info", timeout=5)
    response.raise_for_status()
    state = response.json().get("clusterInfo", {}).get("state", "?")
    return Check(state == "STARTED", f"{where}: ResourceManager {rm} is {state}")


def _connection(conn_id: str | None) -> Any:
    if conn_id is None:
        return None
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def circuit_summary(hook: Any) -> dict[str, Any]:
    """Return how many breakers are in each state and the names of those not closed."""
    from airflow_provider_enterprise.resilience.circuit_breaker import BreakerState, list_breakers

    breakers = list_breakers(hook)
    counts = {state.value: sum(1 for b in breakers if b["state"] == state) for state in BreakerState}
    return {**counts, "not_closed": [b["name"] for b in breakers if b["state"] != BreakerState.CLOSED]}
