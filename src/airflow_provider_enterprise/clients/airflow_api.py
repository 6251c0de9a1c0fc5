"""A small client for Airflow's REST API (v2), used where we act on Airflow from outside a task."""

from __future__ import annotations

from typing import Any

import httpx

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.exceptions import EnterpriseError


class AirflowApiError(EnterpriseError):
    """Airflow's API refused or failed a request."""


class AirflowApiClient:
    """
    Talk to Airflow's REST API with a JWT from ``/auth/token`` (or a configured token).

    :param settings: ``airflow_api`` settings; the URL defaults to Airflow's ``[api] base_url``.
    :param token: act with this JWT (a caller's own, e.g. in the plugin API) instead of the settings' credentials.
    """

    def __init__(self, settings: Settings, *, token: str | None = None, timeout: float = 30) -> None:
        url, configured_token, username, password = credentials(settings, need=token is None)
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        token = token if token is not None else configured_token
        if token is None:
            response = self._http.post("/auth/token", json={"username": username, "password": password})
            if response.status_code >= 400:
                raise AirflowApiError(f"login to {url} as {username!r} refused: HTTP {response.status_code}")
            token = response.json()["access_token"]
        self._http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        """Send a request; raise :class:`AirflowApiError` on an error status not listed in ``ok``."""
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400 and response.status_code not in ok:
            raise AirflowApiError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response

    def trigger_run(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> bool:
        """Create the DAG run ``run_id`` (no logical date); return False if it already exists."""
        response = self.request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf},
            ok=(409,),
        )
        return response.status_code != 409

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any] | None:
        """Return a task instance (state, try_number, ...) or None if Airflow has none."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        response = self.request("GET", path, ok=(404,))
        return None if response.status_code == 404 else response.json()

    def ensure_pool(self, name: str, slots: int, description: str) -> str:
        """Create pool ``name`` or set its slots; return ``created`` or ``updated``."""
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        response = self.request("POST", "/api/v2/pools", json=body, ok=(409,))
        if response.status_code != 409:
            return "created"
        self.request("PATCH", f"/api/v2/pools/{name}", json=body)
        return "updated"

    def close(self) -> None:
        self._http.close()


def credentials(settings: Settings, *, need: bool = True) -> tuple[str, str | None, str | None, str | None]:
    """
    Return the Airflow API's URL and the configured token, username and password (secrets revealed).

    :param need: raise :class:`AirflowApiError` when neither a token nor a username and password is set.
    """
    api = settings.airflow_api
    token = api.token.get_secret_value() if api.token is not None else None
    password = api.password.get_secret_value() if api.password is not None else None
    if need and token is None and not (api.username and password is not None):
        raise AirflowApiError(
            "no Airflow API credentials: set AIRFLOW_API_TOKEN, or AIRFLOW_API_USERNAME and AIRFLOW_API_PASSWORD"
        )
    return api.url or airflow_base_url(), token, api.username, password


def airflow_base_url() -> str:
    """Airflow's ``[api] base_url`` (``http://localhost:8080`` when unset)."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback=None) or "http://localhost:8080"
