"""The plugin's ``/health`` in process (it needs no login): 200 when the registry and Spark can serve, 503 not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.plugin.api import create_app

pytestmark = pytest.mark.integration


def health(**env: str) -> tuple[int, dict]:
    settings = load_settings(env, use_airflow=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    return response.status_code, response.json()


def test_healthy_registry_and_local_spark(registry_url: str) -> None:
    code, body = health(DATABASE_URL=registry_url, SPARK_MASTER_URL="local[2]")
    assert code == 200 and body["status"] == "healthy"
    assert "schema up to date" in body["registry"]["detail"]
    assert body["circuits"] == {"closed": 0, "open": 0, "half_open": 0, "not_closed": []}


def test_an_unreachable_registry_is_503_and_shows_no_password(pg_server) -> None:
    url = "postgresql://enterprise:s3cret-pw@127.0.0.1:1/registry"
    code, body = health(DATABASE_URL=url, SPARK_MASTER_URL="local[2]")
    assert code == 503 and body["status"] == "unhealthy"
    assert body["registry"]["status"] == "unhealthy" and "cannot connect" in body["registry"]["detail"]
    assert body["circuits"] is None and "s3cret-pw" not in str(body)


def test_an_unreachable_spark_master_is_503(registry_url: str) -> None:
    code, body = health(DATABASE_URL=registry_url, SPARK_MASTER_URL="sc://127.0.0.1:1")
    assert code == 503 and (body["registry"]["status"], body["spark"]["status"]) == ("healthy", "unhealthy")
    assert "unreachable" in body["spark"]["detail"]


# -- the Spark connection jobs use, asked through its cluster's API ------------------------------------------------


@pytest.fixture
def cluster_api():
    """A stand-in for a Kubernetes API server and a YARN ResourceManager (neither can run here)."""
    from support.status_server import StatusServer

    server = StatusServer().start()
    yield server
    server.stop()


def spark_connection(monkeypatch, master: str, **extra: str) -> None:
    """Make ``master`` the connection ``spark_default`` that jobs submit through."""
    import json

    conn = {"conn_type": "spark", "host": master, "extra": {"deploy-mode": "cluster", **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(conn))


def test_a_kubernetes_master_is_asked_through_its_api_server(registry_url: str, monkeypatch, cluster_api) -> None:
    spark_connection(monkeypatch, f"k8s://{cluster_api.url}")
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["spark"]["status"]) == (200, "healthy"), body
    assert "Kubernetes API server v1.31.4" in body["spark"]["detail"]
    assert "connection 'spark_default'" in body["spark"]["detail"]
    assert ("GET", "/version") in {(m, p) for m, p, _ in cluster_api.requests}

    cluster_api.refuse = True  # reachable, but it will not say: unknown, never healthy
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["status"], body["spark"]["status"]) == (200, "healthy", "unknown")
    assert "refused to answer (HTTP 401)" in body["spark"]["detail"]

    cluster_api.refuse, cluster_api.outage = False, True
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["status"], body["spark"]["status"]) == (503, "unhealthy", "unhealthy")


def test_a_yarn_master_is_asked_through_its_resource_manager(registry_url: str, monkeypatch, cluster_api) -> None:
    spark_connection(monkeypatch, "yarn", yarn_resourcemanager_webapp_address=cluster_api.url)
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["spark"]["status"]) == (200, "healthy"), body
    assert f"ResourceManager {cluster_api.url} is STARTED" in body["spark"]["detail"]

    spark_connection(monkeypatch, "yarn")  # no ResourceManager address: nothing to ask
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["spark"]["status"]) == (200, "unknown")
    assert "yarn_resourcemanager_webapp_address" in body["spark"]["detail"]


def test_a_stopped_standalone_master_of_the_connection_is_unhealthy(registry_url: str, monkeypatch) -> None:
    from support.processes import free_port

    master, ui = free_port(), free_port()
    spark_connection(monkeypatch, f"spark://127.0.0.1:{master}", **{"master-ui-url": f"http://127.0.0.1:{ui}"})
    code, body = health(DATABASE_URL=registry_url)
    assert (code, body["spark"]["status"]) == (503, "unhealthy"), body
    assert "unreachable" in body["spark"]["detail"]
