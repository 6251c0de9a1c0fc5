"""
Tests for health.py's Spark and embedded-registry checks without a cluster: a standalone master answered by a
local HTTP server. The registry check and the other cluster kinds: tests/integration/test_plugin_health.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.ops import health
from support.json_server import Received, json_server


def spark(**values: Any) -> Settings:
    return Settings.model_validate({"engines": {"spark": values}})


@pytest.mark.parametrize(("ok", "status"), [(True, "healthy"), (False, "unhealthy"), (None, "unknown")])
def test_a_check_that_could_not_ask_is_unknown(ok: bool | None, status: str) -> None:
    assert health.Check(ok, "").status == status


def test_a_disabled_engine_is_healthy_and_a_local_one_needs_java(monkeypatch: pytest.MonkeyPatch) -> None:
    assert health.check_spark(spark(enabled=False)) == health.Check(True, "spark engine disabled")
    local = health.check_spark(spark(master="local[2]"))
    assert local.ok is True
    assert "in-process, java at" in local.detail
    monkeypatch.setenv("PATH", "/nonexistent")
    assert health.check_spark(spark(master="local[2]")) == health.Check(
        False, "master 'local[2]' needs Java 17+ on PATH; install a JDK"
    )


def test_masters_that_cannot_be_asked_are_unknown() -> None:
    several = health.check_spark(spark(master="spark://h1:7077,h2:7077"))
    assert (several.ok, several.detail) == (
        None,
        "master 'spark://h1:7077,h2:7077': no web UI known to ask; set engines.spark.master_ui_url",
    )
    other = health.check_spark(spark(master="mesos://h:5050"))
    assert (other.ok, other.detail) == (None, "master 'mesos://h:5050': no API to ask for this kind of master")


@pytest.mark.parametrize(
    ("answer", "ok", "said"),
    [
        (
            {"status": "ALIVE", "aliveworkers": 2, "cores": 4, "coresused": 1, "memory": 2048},
            True,
            "2 workers, 1/4 cores",
        ),
        ({"status": "ALIVE", "aliveworkers": 0}, False, "no worker is alive: start one"),
        ({"status": "STANDBY", "aliveworkers": 1}, False, "STANDBY: 1 workers"),
    ],
)
def test_a_standalone_master_is_asked_for_its_workers(answer: dict, ok: bool, said: str) -> None:
    def master(request: Received) -> tuple[int, Any]:
        return (200, answer) if request.path == "/json/" else (404, {})

    with json_server(master) as server:
        check = health.check_spark(spark(master="spark://127.0.0.1:7077", master_ui_url=server.url))
    assert check.ok is ok
    assert said in check.detail
    assert check.detail.startswith("master 'spark://127.0.0.1:7077' ")


def test_an_unreachable_master_says_how_to_fix_it() -> None:
    with json_server(lambda request: (500, {})) as server:
        failing = health.check_spark(spark(master="spark://127.0.0.1:7077", master_ui_url=server.url))
    assert failing.ok is False
    assert "unreachable (HTTPStatusError" in failing.detail
    assert failing.detail.endswith("start it or fix the connection")


def test_a_configured_registry_url_skips_the_embedded_server() -> None:
    configured = health.check_embedded(Settings.model_validate({"database_url": "postgresql://u@h/db"}))
    assert configured == health.Check(True, "registry URL configured (DATABASE_URL / [enterprise] database_url)")
