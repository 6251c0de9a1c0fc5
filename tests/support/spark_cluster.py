"""
A Spark standalone cluster on loopback for the test session: a master (REST submission port on), one worker
and a Spark Connect server running on the cluster, each a JVM started from the pip package's scripts and
stopped by PID. Ports are picked free at start, so a second cluster (e.g. with ``spark.authenticate`` on:
``daemon_conf`` and ``daemon_env``, no Connect server) runs beside the session's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

from support.processes import HOST, free_port, stop_group, wait_ready

SPARK_HOME = Path(pyspark.__file__).parent


@dataclass
class SparkCluster:
    """
    A standalone master, worker and (``connect_server``) Spark Connect server.

    :param daemon_conf: ``spark.*`` settings of the master and the worker (``-D`` options in SPARK_MASTER_OPTS and
        SPARK_WORKER_OPTS), e.g. ``spark.authenticate``.
    :param daemon_env: more environment of the daemons, e.g. the secret in ``_SPARK_AUTH_SECRET`` (which keeps it
        out of their command lines).
    """

    workdir: Path
    worker_cores: int = 3
    worker_memory: str = "3g"
    connect_server: bool = True
    daemon_conf: dict[str, str] = field(default_factory=dict)
    daemon_env: dict[str, str] = field(default_factory=dict)
    master_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    rest_port: int = field(default_factory=free_port)
    connect_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    @property
    def connect_url(self) -> str:
        return f"sc://{HOST}:{self.connect_port}"

    @property
    def env(self) -> dict[str, str]:
        options = " ".join(f"-D{key}={value}" for key, value in self.daemon_conf.items())
        rest = f"-Dspark.master.rest.enabled=true -Dspark.master.rest.port={self.rest_port}"
        return {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOG_DIR": str(self.workdir / "logs"),
            "SPARK_WORKER_DIR": str(self.workdir / "work"),
            "SPARK_MASTER_OPTS": f"{rest} {options}".strip(),
            "SPARK_WORKER_OPTS": options,
            **self.daemon_env,
        }

    def _start(self, name: str, argv: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.workdir
            )
        self.processes[name] = process
        return process, log

    def master_json(self) -> dict:
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            return json.load(response)

    def start(self) -> SparkCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        spark_class = str(SPARK_HOME / "bin" / "spark-class")
        master, log = self._start(
            "master",
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(self.master_port)]
            + ["--webui-port", str(self.ui_port)],
        )
        wait_ready("Spark master", lambda: self.master_json()["status"] == "ALIVE", master, log)
        self.start_worker()
        if not self.connect_server:
            return self
        connect, log = self._start(
            "connect",
            [
                str(SPARK_HOME / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
            ]
            + ["--name", "Spark Connect server", "--master", self.master_url]
            + ["--conf", f"spark.connect.grpc.binding.port={self.connect_port}", "--conf", "spark.cores.max=1"]
            + ["--conf", "spark.executor.memory=768m", "--conf", "spark.sql.shuffle.partitions=2"]
            + ["--conf", "spark.ui.enabled=false", "--conf", f"spark.driver.host={HOST}"],
        )
        wait_ready(
            "Spark Connect server",
            lambda: socket.create_connection((HOST, self.connect_port), 1).close() is None,
            connect,
            log,
            120,
        )
        return self

    def start_worker(self) -> None:
        """Start the worker and wait until the master counts it alive."""
        worker, log = self._start(
            "worker",
            [str(SPARK_HOME / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker", self.master_url]
            + ["--host", HOST, "--cores", str(self.worker_cores), "--memory", self.worker_memory]
            + ["--webui-port", str(free_port())],
        )
        wait_ready("Spark worker", lambda: b"Successfully registered with master" in log.read_bytes(), worker, log)

    def kill_worker(self) -> None:
        """Lose the worker's host: SIGKILL the worker and its executors (its process group) at once."""
        worker = self.processes.pop("worker")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)

    def applications(self) -> list[dict]:
        """Every application the master knows, running or finished."""
        status = self.master_json()
        return status.get("activeapps", []) + status.get("completedapps", [])

    def stop(self) -> None:
        for name in ("connect", "worker", "master"):
            process = self.processes.pop(name, None)
            if process is not None:
                stop_group(process)
