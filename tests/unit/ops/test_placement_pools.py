"""How the engines' pools are sized (``enterprise-orchestrator pools create``)."""

from __future__ import annotations

import os

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.ops import placement


def test_the_local_pool_counts_every_worker_hosts_cpus(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("engines:\n  local:\n    max_workers: 1\n    pool: duckdb_jobs\n")
    s = load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    cpus = os.cpu_count() or 1
    pool = placement.local_pool(s, workers=3)
    assert (pool.name, pool.slots) == ("duckdb_jobs", 3 * cpus)
    assert pool.basis == f"3 worker host(s) x {cpus} CPUs / 1 DuckDB threads per job"
    assert placement.local_pool(s, workers=3, slots=7).slots == 7


def test_a_local_pool_has_a_slot_even_when_a_job_wants_more_threads_than_a_host_has(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("engines:\n  local:\n    max_workers: 64\n")
    s = load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    assert placement.local_pool(s, workers=2).slots == 2
    assert placement.local_pool(s, workers=2).name == "enterprise_local"


def test_the_spark_pool_gives_every_application_one_executor() -> None:
    s = load_settings({}, use_airflow=False)  # executor_cores 2, max_executors 4
    assert placement.spark_pool(s, cluster_cores=16).slots == 8
    assert placement.spark_pool(s, cluster_cores=1).slots == 1
    assert placement.spark_pool(s, cluster_cores=None).slots == 4
    assert placement.spark_pool(s, cluster_cores=16, slots=3).basis == "slots set by hand"
