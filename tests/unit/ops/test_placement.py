"""
Tests for placement.py's reading of a standalone master's cores (a local HTTP server's ``/json/``) and the pools'
descriptions. How the pools are sized: tests/unit/ops/test_placement_pools.py.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.ops import placement
from support.json_server import Received, json_server


def spark(**values: Any) -> Settings:
    return Settings.model_validate({"engines": {"spark": values}})


def test_the_cluster_cores_are_the_masters_alive_cores() -> None:
    def master(request: Received) -> tuple[int, Any]:
        return 200, {"status": "ALIVE", "aliveworkers": 2, "cores": 12}

    with json_server(master) as server:
        settings = spark(master="spark://127.0.0.1:7077", master_ui_url=server.url)
        assert placement.spark_cluster_cores(settings) == 12
        assert placement.spark_pool(settings, cluster_cores=12).description == (
            "spark engine jobs; 12 cluster cores / 2 cores per executor"
        )
    assert [r.path for r in server.received] == ["/json/"]


def test_cores_are_unknown_without_a_master_that_reports_them() -> None:
    with json_server(lambda request: (200, {"status": "ALIVE", "cores": 0})) as server:
        assert placement.spark_cluster_cores(spark(master="spark://h:7077", master_ui_url=server.url)) is None
    with json_server(lambda request: (503, {})) as server:
        assert placement.spark_cluster_cores(spark(master="spark://h:7077", master_ui_url=server.url)) is None
    assert placement.spark_cluster_cores(spark(master="local[2]")) is None  # no web UI to ask
