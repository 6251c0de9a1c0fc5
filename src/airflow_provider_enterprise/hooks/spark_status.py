"""Read a Spark standalone master's status JSON (``/json/`` on its web UI): cores, memory, workers, applications."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

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
        return ClusterStatus.from_json(response.json())

    async def astatus(self) -> ClusterStatus:
        """Return the cluster's status, without blocking the event loop."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.get(f"{self.ui_url}/json/")
        response.raise_for_status()
        return ClusterStatus.from_json(response.json())

    def wait_until_inactive(self, app_name: str, *, deadline: float | None, poll_interval: float = 2.0) -> bool:
        """Wait while an application named ``app_name`` runs; return False if ``deadline`` (epoch s) passes first."""
        while app_name in self.status().active_apps:
            if deadline is not None and time.time() >= deadline:
                return False
            time.sleep(poll_interval)
        return True
