"""A Redis server (Debian's ``redis-server``) on loopback: the Celery broker of the stack's workers."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from support.processes import HOST, free_port, stop_group, wait_ready


def _answers_ping(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16).startswith(b"+PONG")


@dataclass
class RedisServer:
    """One ``redis-server`` process without persistence, started in its own process group and stopped by PID."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run `make redis` (Debian's redis-server package)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "redis.log"
        argv = [binary, "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.workdir), "--logfile", str(log)]
        log.touch()
        self.process = subprocess.Popen(argv, start_new_session=True)
        wait_ready("redis-server", lambda: _answers_ping(self.port), self.process, log, timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
