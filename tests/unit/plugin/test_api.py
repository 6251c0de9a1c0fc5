"""
Tests for plugin/api.py in process, without a registry or an auth manager: the app's routes and OpenAPI
document, its error mapping and the UI page. Rights and listings are tested against the stack's api-server
(tests/stack/test_plugin_api.py).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from starlette.requests import Request

from airflow_provider_enterprise.clients.airflow_api import AirflowApiError
from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.plugin import URL_PREFIX, EnterprisePlugin
from airflow_provider_enterprise.plugin.api import create_app
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterError, DeadLetterNotFound

ROUTES = {
    ("get", "/health"): (),
    ("get", "/api/v1/jobs"): (),
    ("get", "/api/v1/jobs/{job_id}"): ("404",),
    ("get", "/api/v1/audit"): (),
    ("get", "/api/v1/dead-letters"): (),
    ("get", "/api/v1/dead-letters/{dead_letter_id}"): ("404",),
    ("post", "/api/v1/dead-letters/{dead_letter_id}/replay"): ("404", "409", "502"),
    ("post", "/api/v1/dead-letters/{dead_letter_id}/discard"): ("404", "409"),
    ("get", "/api/v1/circuits"): (),
    ("post", "/api/v1/circuits/{name}/reset"): ("404",),
}


@pytest.fixture(scope="module")
def app():
    return create_app(Settings())


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as test_client:
        yield test_client


def test_creating_the_app_does_not_touch_the_registry(app) -> None:
    registry = app.state.registry
    assert registry._hook is None  # every Airflow process imports the plugin: no connection until a request
    hook = registry.hook()
    assert registry.hook() is hook


def test_the_openapi_document_is_valid_and_documents_each_routes_errors(client) -> None:
    document = client.get("/openapi.json").json()
    validate(document)
    found = {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}
    assert set(found) == set(ROUTES)
    for route, problems in ROUTES.items():
        documented = set(found[route]["responses"])
        if route[1] == "/health":
            assert {"200", "503"} <= documented
            continue
        assert {"401", "403", *problems} <= documented, route
        assert ({"404", "409", "502"} - set(problems)).isdisjoint(documented), route  # none it cannot answer


@pytest.mark.parametrize(("method", "path"), [route for route in ROUTES if route[1] != "/health"])
def test_every_route_but_health_refuses_a_caller_without_a_token(client, method: str, path: str) -> None:
    filled = path.replace("{job_id}", "1").replace("{dead_letter_id}", "1").replace("{name}", "hive")
    response = client.request(method, filled)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DeadLetterNotFound("dead letter 5 does not exist"), 404),
        (DeadLetterError("dead letter 5 is replayed, not open"), 409),
        (AirflowApiError("Airflow refused the run: 403"), 502),
    ],
)
def test_service_errors_become_problems_with_their_message(app, error: Exception, code: int) -> None:
    handler = app.exception_handlers[type(error)]
    response = handler(Request({"type": "http", "method": "POST", "path": "/", "headers": []}), error)
    assert response.status_code == code
    assert json.loads(response.body) == {"detail": str(error)}


def test_the_ui_page_is_served_and_linked_relative_to_the_api_server(client) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    (view,) = EnterprisePlugin.external_views
    assert view["href"] == "enterprise/ui/"  # relative: works behind a proxy with a path prefix
    (mounted,) = EnterprisePlugin.fastapi_apps
    assert mounted["url_prefix"] == URL_PREFIX == "/enterprise"
