"""
Where each engine's tasks run: its executor queue and its Airflow pool, sized from the capacity behind them.

The queues and pools come from ``engines.<engine>.queue`` and ``pool`` (the cluster policy in
:mod:`airflow_provider_enterprise.ops.policies` gives them to the tasks); ``enterprise-orchestrator pools create``
creates the pools with the slots computed here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from airflow_provider_enterprise.config import Settings

DEFAULT_POOLS = {"local": "enterprise_local", "spark": "enterprise_spark"}


@dataclass(frozen=True)
class EnginePool:
    """An engine's Airflow pool: its name, slots, and how the slots were chosen."""

    engine: str
    name: str
    slots: int
    basis: str

    @property
    def description(self) -> str:
        return f"{self.engine} engine jobs; {self.basis}"


def local_pool(settings: Settings, *, workers: int, slots: int | None = None) -> EnginePool:
    """
    The local engine's pool: each job uses ``engines.local.max_workers`` DuckDB threads of one worker host, so
    ``workers`` hosts of this machine's CPU count hold ``workers * cpus // max_workers`` jobs at once.
    """
    local = settings.engines.local
    name = local.pool or DEFAULT_POOLS["local"]
    if slots is not None:
        return EnginePool("local", name, slots, "slots set by hand")
    cpus = os.cpu_count() or 1
    per_host = max(1, cpus // local.max_workers)
    basis = f"{workers} worker host(s) x {cpus} CPUs / {local.max_workers} DuckDB threads per job"
    return EnginePool("local", name, workers * per_host, basis)


def spark_pool(settings: Settings, *, cluster_cores: int | None, slots: int | None = None) -> EnginePool:
    """
    The Spark engine's pool: as many applications as the cluster can give one executor each
    (``cluster_cores // engines.spark.executor_cores``), or ``engines.spark.max_executors`` when the cluster
    does not report its cores (``local[*]``, Kubernetes, YARN, an unreachable master).
    """
    spark = settings.engines.spark
    name = spark.pool or DEFAULT_POOLS["spark"]
    if slots is not None:
        return EnginePool("spark", name, slots, "slots set by hand")
    if cluster_cores:
        basis = f"{cluster_cores} cluster cores / {spark.executor_cores} cores per executor"
        return EnginePool("spark", name, max(1, cluster_cores // spark.executor_cores), basis)
    return EnginePool("spark", name, spark.max_executors, "engines.spark.max_executors (cluster cores unknown)")


def spark_cluster_cores(settings: Settings) -> int | None:
    """The cores a standalone master reports alive (its web UI's JSON), or None when it reports none."""
    import httpx

    from airflow_provider_enterprise.clients.spark_status import SparkMasterStatusHook
    from airflow_provider_enterprise.engines.spark import resolve_target

    target = resolve_target(settings.engines.spark)
    if not target.ui_url:
        return None
    try:
        return SparkMasterStatusHook(target.ui_url).status().cores or None
    except httpx.HTTPError:
        return None
