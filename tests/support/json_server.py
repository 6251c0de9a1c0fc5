"""
A local HTTP server (the stdlib's) that answers JSON requests with a function of the test's, and keeps them.

For clients of REST APIs that cannot run here or would be slow to start (Airflow's api-server in a unit test).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    """A request the server received: its query as parse_qs gives it, its JSON body, its Authorization header."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


#: Answers a request with a status code and a JSON body.
Answer = Callable[[Received], tuple[int, Any]]


class JsonServer(ThreadingHTTPServer):
    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: JsonServer

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        request = Received(self.command, url.path, parse_qs(url.query), body, self.headers.get("authorization"))
        self.server.received.append(request)
        code, answer = self.server.answer(request)
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def json_server(answer: Answer) -> Iterator[JsonServer]:
    """Serve ``answer`` on a free local port while the block runs."""
    server = JsonServer(answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
