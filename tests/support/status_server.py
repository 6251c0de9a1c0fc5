"""
A local HTTP server that answers like the status APIs of cluster-mode Spark applications: a standalone master's
REST server (``/v1/submissions``), the Kubernetes API (pods, ``/version``) and YARN's ResourceManager
(``/ws/v1/cluster/apps``, ``/ws/v1/cluster/info``).

Kubernetes and YARN cannot run here; the payloads follow their documented shapes. Each application has a
script of states: every status read moves it one step on, and the last state stays.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ROUTES = [
    ("standalone", re.compile(r"^/v1/submissions/(status|kill)/(?P<id>[^/]+)$")),
    ("kubernetes", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<pod>[^/]+)$")),
    ("yarn", re.compile(r"^/ws/v1/cluster/apps/(?P<id>[^/]+?)(?P<state>/state)?$")),
]
#: The cluster-level answers health checks ask for: the Kubernetes API server's version, YARN's cluster info.
_CLUSTER = {
    "/version": {"major": "1", "minor": "31", "gitVersion": "v1.31.4"},
    "/ws/v1/cluster/info": {"clusterInfo": {"id": 1764633600000, "state": "STARTED", "haState": "ACTIVE"}},
}


@dataclass
class StatusServer:
    """Scripted applications by (backend, external id), and the requests received."""

    applications: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: While set, every request is answered 503 (the API is down).
    outage: bool = False
    #: Bodies answered with 200, one a request, before any route: answers that are not a status (a proxy's error
    #: page, a JSON of another shape).
    malformed: list[str | dict[str, Any]] = field(default_factory=list)
    #: While set, the Kubernetes API refuses the caller's token (401).
    refuse: bool = False
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, backend: str, external_id: str, *states: str) -> None:
        self.applications[(backend, external_id)] = list(states)

    def state(self, backend: str, external_id: str) -> str | None:
        states = self.applications.get((backend, external_id))
        return states[0] if states else None

    def _read(self, backend: str, external_id: str) -> str | None:
        states = self.applications.get((backend, external_id))
        if not states:
            return None
        return states.pop(0) if len(states) > 1 else states[0]

    def _kill(self, backend: str, external_id: str, state: str) -> bool:
        if (backend, external_id) not in self.applications:
            return False
        self.applications[(backend, external_id)] = [state]
        return True

    def handle(self, method: str, path: str, auth: str | None) -> tuple[int, str | dict[str, Any]]:
        self.requests.append((method, path, auth))
        if self.outage:
            return 503, {"message": "service unavailable"}
        if self.malformed:
            return 200, self.malformed.pop(0)
        if self.refuse and path == "/version":
            return 401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401}
        if path in _CLUSTER:
            return 200, _CLUSTER[path]
        for backend, pattern in _ROUTES:
            match = pattern.match(path)
            if match:
                return getattr(self, f"_{backend}")(method, match)
        return 404, {"message": f"no route {path}"}

    def _standalone(self, method: str, match: re.Match) -> tuple[int, dict[str, Any]]:
        external_id = match["id"]
        if method == "POST":
            killed = self._kill("standalone", external_id, "KILLED")
            return 200, {"action": "KillSubmissionResponse", "submissionId": external_id, "success": killed}
        state = self._read("standalone", external_id)
        if state is None:
            return 200, {"action": "SubmissionStatusResponse", "driverState": "NOT_FOUND", "success": False}
        return 200, {
            "action": "SubmissionStatusResponse",
            "driverState": state,
            "serverSparkVersion": "4.3.0",
            "submissionId": external_id,
            "success": True,
        }

    def _kubernetes(self, method: str, match: re.Match) -> tuple[int, dict[str, Any]]:
        external_id = f"{match['ns']}:{match['pod']}"
        not_found = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
        if method == "DELETE":
            if (("kubernetes", external_id)) not in self.applications:
                return 404, not_found
            del self.applications[("kubernetes", external_id)]
            return 200, {"kind": "Pod", "metadata": {"name": match["pod"]}}
        phase = self._read("kubernetes", external_id)
        if phase is None:
            return 404, not_found
        return 200, {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": match["pod"], "namespace": match["ns"]},
            "status": {"phase": phase, **({"message": "driver exited with 1"} if phase == "Failed" else {})},
        }

    def _yarn(self, method: str, match: re.Match) -> tuple[int, dict[str, Any]]:
        external_id = match["id"]
        if method == "PUT" and match["state"]:
            if not self._kill("yarn", external_id, "KILLED/KILLED"):
                return 404, {"RemoteException": {"exception": "NotFoundException"}}
            return 202, {"state": "KILLED"}
        scripted = self._read("yarn", external_id)
        if scripted is None:
            return 404, {"RemoteException": {"exception": "NotFoundException", "message": f"app {external_id}"}}
        state, _, final = scripted.partition("/")
        return 200, {
            "app": {
                "id": external_id,
                "state": state,
                "finalStatus": final or "UNDEFINED",
                "diagnostics": "AM container exited with 1" if final == "FAILED" else "",
            }
        }

    def start(self) -> StatusServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                code, body = server.handle(self.command, self.path, self.headers.get("Authorization"))
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _respond

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
