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
