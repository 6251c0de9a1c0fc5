"""
Spark status over HTTP: a standalone master's capacity (``/json/`` on its web UI) and the state of an application
submitted in cluster mode (a standalone master's REST server, the Kubernetes API, YARN's ResourceManager),
with sync and async calls that share one description of each request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from airflow_provider_enterprise import metrics

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: The standalone master's default web UI port.
DEFAULT_UI_PORT = 8080


def master_ui_url(master: str, configured: str | None = None) -> str | None:
    """Return the web UI of a ``spark://`` master: ``configured``, else port 8080 of the master's host."""
    if configured:
        return configured.rstrip("/")
    if not master.startswith("spark://") or "," in master:
        return None
    return f"http://{urlsplit(master).hostname}:{DEFAULT_UI_PORT}"


@dataclass(frozen=True)
class ClusterStatus:
    """What a standalone master reports about its capacity and applications."""

    status: str
    alive_workers: int
    cores: int
    cores_used: int
    memory_mb: int
    memory_used_mb: int
    active_apps: tuple[str, ...]

    @property
    def utilization(self) -> float:
        """Cores in use over cores alive, from 0 to 1 (0 for a cluster with no cores)."""
        return self.cores_used / self.cores if self.cores else 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterStatus:
        return cls(
            status=data.get("status", "UNKNOWN"),
            alive_workers=int(data.get("aliveworkers", 0)),
            cores=int(data.get("cores", 0)),
            cores_used=int(data.get("coresused", 0)),
            memory_mb=int(data.get("memory", 0)),
            memory_used_mb=int(data.get("memoryused", 0)),
            active_apps=tuple(app["name"] for app in data.get("activeapps", [])),
        )


class SparkMasterStatusHook:
    """
    Read a standalone master's status.

    :param ui_url: the master's web UI, such as ``http://spark-master:8080``.
    :param timeout: seconds per request.
    """

    def __init__(self, ui_url: str, *, timeout: float = 5.0) -> None:
        self.ui_url = ui_url.rstrip("/")
        self.timeout = timeout

    def status(self) -> ClusterStatus:
        """Return the cluster's status; raise ``httpx.HTTPError`` when the master cannot be reached."""
        response = httpx.get(f"{self.ui_url}/json/", timeout=self.timeout)
        response.raise_for_status()
        return self._report(ClusterStatus.from_json(response.json()))

    async def astatus(self) -> ClusterStatus:
        """Return the cluster's status, without blocking the event loop."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.get(f"{self.ui_url}/json/")
        response.raise_for_status()
        return self._report(ClusterStatus.from_json(response.json()))

    def _report(self, status: ClusterStatus) -> ClusterStatus:
        metrics.gauge(metrics.SPARK_CLUSTER_UTILIZATION, round(status.utilization, 4), master=self.ui_url)
        return status

    def wait_until_inactive(self, app_name: str, *, deadline: float | None, poll_interval: float = 2.0) -> bool:
        """Wait while an application named ``app_name`` runs; return False if ``deadline`` (epoch s) passes first."""
        while app_name in self.status().active_apps:
            if deadline is not None and time.time() >= deadline:
                return False
            time.sleep(poll_interval)
        return True


# -- applications submitted in cluster mode ---------------------------------------------------------------

#: Where a cluster-mode application's driver runs, and so which API reports its state.
Backend = Literal["standalone", "kubernetes", "yarn"]
BACKENDS: tuple[Backend, ...] = ("standalone", "kubernetes", "yarn")

#: States in which the application has not ended, per backend (as each API spells them, upper-cased).
_ACTIVE = {
    "standalone": {"SUBMITTED", "RUNNING", "RELAUNCHING", "UNKNOWN"},
    "kubernetes": {"PENDING", "RUNNING"},
    "yarn": {"NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"},
}


@dataclass(frozen=True)
class ApplicationStatus:
    """The state of a cluster-mode application, as its backend reports it."""

    backend: str
    external_id: str
    state: str
    message: str = ""

    @property
    def active(self) -> bool:
        return self.state.upper() in _ACTIVE[self.backend]

    @property
    def succeeded(self) -> bool:
        return self.state.upper() in ("FINISHED", "SUCCEEDED")


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    json: dict[str, Any] | None = None


#: A pod's service-account credentials, used for the Kubernetes API when the connection holds no token.
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def kubernetes_token(conn: Connection | None) -> str | None:
    """Return the bearer token for the Kubernetes API: the connection's password, else the pod's service account."""
    if conn is not None and conn.password:
        return conn.password
    token = SERVICE_ACCOUNT / "token"
    return token.read_text().strip() if token.is_file() else None


def kubernetes_verify() -> bool | str:
    """Return how to verify the Kubernetes API's certificate: the pod's cluster CA when there is one."""
    ca = SERVICE_ACCOUNT / "ca.crt"
    return str(ca) if ca.is_file() else True


#: A key every status answer of a backend's API has: the standalone master's REST ``action``, a Kubernetes
#: object's ``kind`` and YARN's ``app``.
_STATUS_KEYS = {"standalone": "action", "kubernetes": "kind", "yarn": "app"}


class SparkApplicationTracker:
    """
    Read and stop one backend's cluster-mode applications.

    External ids are a standalone driver id (``driver-20261201...``), ``namespace:pod`` of a Kubernetes driver
    pod, or a YARN application id.

    :param backend: ``standalone`` (the master's REST server, ``/v1/submissions``), ``kubernetes`` (the API
        server's pods) or ``yarn`` (the ResourceManager's ``/ws/v1/cluster/apps``).
    :param base_url: the REST server (``http://master:6066``), API server or ResourceManager web address.
    :param token: a bearer token for the Kubernetes API (never logged).
    :param verify: TLS verification: True, False or a CA bundle's path.
    :param timeout: seconds per request.
    """

    def __init__(
        self,
        backend: Backend,
        base_url: str,
        *,
        token: str | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown Spark backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.verify = verify
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SparkApplicationTracker({self.backend!r}, {self.base_url!r})"

    @classmethod
    def connect(cls, backend: Backend, base_url: str, conn: Connection | None = None) -> SparkApplicationTracker:
        """
        Return a tracker of ``backend`` at ``base_url``; a Kubernetes one authenticates with ``conn``'s password
        (the Spark connection, None when it is not defined) or else the pod's service account.
        """
        if backend != "kubernetes":
            return cls(backend, base_url)
        return cls(backend, base_url, token=kubernetes_token(conn), verify=kubernetes_verify())

    def status_api(self, conn_id: str | None) -> dict[str, Any]:
        """Describe where this tracker reads, without credentials, for :meth:`from_status_api` in another process."""
        return {"backend": self.backend, "url": self.base_url, "conn_id": conn_id}

    @classmethod
    def from_status_api(cls, status_api: dict[str, Any]) -> SparkApplicationTracker:
        """Rebuild a tracker from :meth:`status_api`, reading the named Spark connection for a Kubernetes token."""
        conn = None
        if status_api["backend"] == "kubernetes" and status_api.get("conn_id"):
            from airflow.sdk import BaseHook
            from airflow.sdk.exceptions import AirflowNotFoundException

            try:
                conn = BaseHook.get_connection(status_api["conn_id"])
            except AirflowNotFoundException:
                conn = None
        return cls.connect(status_api["backend"], status_api["url"], conn)

    def stop_if_active(self, external_id: str) -> ApplicationStatus:
        """Kill the application if it has not ended; return the status it had."""
        status = self.status(external_id)
        if status.active:
            self.kill(external_id)
        return status

    def _pod_url(self, external_id: str) -> str:
        namespace, sep, pod = external_id.partition(":")
        if not sep or not namespace or not pod:
            raise ValueError(f"a Kubernetes driver is named 'namespace:pod', got {external_id!r}")
        return f"{self.base_url}/api/v1/namespaces/{namespace}/pods/{pod}"

    def _status_request(self, external_id: str) -> _Request:
        if self.backend == "standalone":
            return _Request("GET", f"{self.base_url}/v1/submissions/status/{external_id}")
        if self.backend == "kubernetes":
            return _Request("GET", self._pod_url(external_id))
        return _Request("GET", f"{self.base_url}/ws/v1/cluster/apps/{external_id}")

    def _kill_request(self, external_id: str) -> _Request:
        if self.backend == "standalone":
            return _Request("POST", f"{self.base_url}/v1/submissions/kill/{external_id}")
        if self.backend == "kubernetes":
            return _Request("DELETE", self._pod_url(external_id))
        return _Request("PUT", f"{self.base_url}/ws/v1/cluster/apps/{external_id}/state", {"state": "KILLED"})

    def _parse_status(self, external_id: str, response: httpx.Response) -> ApplicationStatus:
        if response.status_code == 404 and self.backend != "standalone":
            return ApplicationStatus(self.backend, external_id, "NOT_FOUND", f"{self.backend} has no {external_id}")
        response.raise_for_status()
        data = response.json()  # not JSON: ValueError
        if not isinstance(data, dict) or _STATUS_KEYS[self.backend] not in data:
            # a proxy's or a load balancer's answer, not the API's: a failed poll, never a finished application
            raise ValueError(f"{self.backend} answered something that is not a status: {str(data)[:200]}")
        if self.backend == "standalone":
            if not data.get("success", False):  # the master does not know the driver (or is recovering)
                return ApplicationStatus(self.backend, external_id, "NOT_FOUND", data.get("message", ""))
            message = data.get("message") or ""
            return ApplicationStatus(self.backend, external_id, data["driverState"], message)
        if self.backend == "kubernetes":
            status = data.get("status") or {}
            return ApplicationStatus(
                self.backend, external_id, status.get("phase") or "Pending", status.get("message", "")
            )
        app = data["app"]
        state = app["state"]
        if state.upper() == "FINISHED" and app.get("finalStatus", "").upper() != "SUCCEEDED":
            state = app.get("finalStatus") or "FAILED"  # a FINISHED application whose final status is FAILED
        return ApplicationStatus(self.backend, external_id, state, app.get("diagnostics", ""))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _client(self) -> httpx.Client:
        return httpx.Client(headers=self._headers(), verify=self.verify, timeout=self.timeout)

    def _async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=self._headers(), verify=self.verify, timeout=self.timeout)

    def status(self, external_id: str) -> ApplicationStatus:
        """Return the application's state; raise ``httpx.HTTPError`` when the backend cannot be reached."""
        request = self._status_request(external_id)
        with self._client() as client:
            response = client.request(request.method, request.url)
        return self._parse_status(external_id, response)

    async def astatus(self, external_id: str) -> ApplicationStatus:
        """Return the application's state, without blocking the event loop."""
        request = self._status_request(external_id)
        async with self._async_client() as client:
            response = await client.request(request.method, request.url)
        return self._parse_status(external_id, response)

    def kill(self, external_id: str) -> None:
        """Stop the application; raise ``httpx.HTTPError`` when the backend refuses or cannot be reached."""
        request = self._kill_request(external_id)
        with self._client() as client:
            response = client.request(request.method, request.url, json=request.json)
        if response.status_code != 404:
            response.raise_for_status()

    async def akill(self, external_id: str) -> None:
        """Stop the application, without blocking the event loop."""
        request = self._kill_request(external_id)
        async with self._async_client() as client:
            response = await client.request(request.method, request.url, json=request.json)
        if response.status_code != 404:
            response.raise_for_status()
