"""
A stand-in for a Kubernetes or YARN cluster, which cannot run here.

- ``spark-submit`` on PATH accepts a cluster-mode submission as Spark's Kubernetes or YARN client reports one with
  ``waitAppCompletion=false`` (the driver pod's name and namespace; the YARN application id) and records its argv;
- :meth:`FakeCluster.drive` plays the driver: it runs the submitted generic application on the test session's
  real Spark (:func:`~airflow_provider_enterprise.spark_app.main.report_job`, as the cluster's driver would), while
  the status server answers for the pod or the YARN application: pending, running, then succeeded or failed by
  the application's exit status.

Only the submission and the status APIs are stand-ins; the job, its output, manifest and reported outcome are real.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMESPACE = "jobs"
POD_SUFFIX = "0a1b2c3d-driver"
YARN_APPLICATION = "application_1764633600000_{:04d}"

#: What spark-submit prints once the cluster accepted the application, by backend.
_ACCEPTED = {
    "kubernetes": [
        "26/12/02 12:00:00 INFO LoggingPodStatusWatcherImpl: State changed, new state:",
        "\t pod name: {name}-" + POD_SUFFIX,
        "\t namespace: " + NAMESPACE,
        "\t phase: Pending",
        "26/12/02 12:00:00 INFO LoggingPodStatusWatcherImpl: Deployed Spark application {name} into Kubernetes",
    ],
    "yarn": [
        "26/12/02 12:00:00 INFO Client: Submitting application {yarn} to ResourceManager",
        "26/12/02 12:00:01 INFO YarnClientImpl: Submitted application {yarn}",
        "26/12/02 12:00:01 INFO Client: Application report for {yarn} (state: ACCEPTED)",
    ],
}
#: The states the status server reports while the driver runs, and when it ended well or not.
_STATES = {
    "kubernetes": (("Pending", "Running"), "Succeeded", "Failed"),
    "yarn": (("ACCEPTED", "RUNNING"), "FINISHED/SUCCEEDED", "FINISHED/FAILED"),
}

_SPARK_SUBMIT = """#!{python}
import json, pathlib, sys, time
argv = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(argv) + "\\n")
with open({log!r}) as log:
    number = len(log.read().splitlines())
accepted = pathlib.Path({log!r}).with_name(f"accepted-{{number}}")
for _ in range(3000):  # the cluster answers for the application before spark-submit reports it
    if accepted.exists():
        break
    time.sleep(0.01)
name = argv[argv.index("--name") + 1]
for line in {lines!r}:
    print(line.format(name=name, yarn={yarn!r}.format(number)))
"""


@dataclass
class FakeCluster:
    """A ``backend`` (``kubernetes``, ``yarn``) cluster's submissions (in ``directory``), answered for by
    ``server``, run on ``spark``."""

    backend: str
    directory: Path
    server: Any
    spark: Any
    drivers: list[threading.Thread] = field(default_factory=list)

    def install(self, monkeypatch) -> None:
        """Put the fake ``spark-submit`` first on PATH."""
        script = self.directory / "spark-submit"
        script.write_text(
            _SPARK_SUBMIT.format(
                python=sys.executable, log=str(self.log), lines=_ACCEPTED[self.backend], yarn=YARN_APPLICATION
            )
        )
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{self.directory}{os.pathsep}{os.environ['PATH']}")

    @property
    def log(self) -> Path:
        return self.directory / "submissions.jsonl"

    def submissions(self) -> list[list[str]]:
        """The argv of every submission so far."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def connection(self, monkeypatch, conn_id: str, token: str) -> None:
        """Set Airflow connection ``conn_id``: this cluster in cluster deploy mode (Kubernetes: ``token`` its API
        token)."""
        address = self.server.url.removeprefix("http://")
        if self.backend == "kubernetes":
            host, port = address.split(":")
            connection = {
                "conn_type": "spark",
                "host": f"k8s://http://{host}",
                "port": int(port),
                "password": token,
                "extra": {"deploy-mode": "cluster", "namespace": NAMESPACE},
            }
        else:
            extra = {"deploy-mode": "cluster", "yarn_resourcemanager_webapp_address": address}
            connection = {"conn_type": "spark", "host": "yarn", "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))

    def external_id(self, submission: int = 0) -> str:
        """The id the cluster gave submission number ``submission``: ``namespace:pod``, or the YARN application."""
        if self.backend == "yarn":
            return YARN_APPLICATION.format(submission + 1)
        argv = self.submissions()[submission]
        return f"{NAMESPACE}:{argv[argv.index('--name') + 1]}-{POD_SUFFIX}"

    def state(self, submission: int = 0) -> str | None:
        """The state the status server reports for submission number ``submission``."""
        return self.server.state(self.backend, self.external_id(submission))

    def drive(
        self, submission: int = 0, timeout: float = 120.0, while_running: Callable[[], bool] | None = None
    ) -> None:
        """
        In a thread: wait for submission number ``submission``, then run its driver as described above.

        :param while_running: called once the application is accepted and running; it returns whether the driver
            goes on to run the job (False: the application was killed meanwhile).
        """

        def run() -> None:
            from airflow_provider_enterprise.engines.spark import APPLICATION
            from airflow_provider_enterprise.spark_app.main import parse_args, report_job

            deadline = time.monotonic() + timeout
            while len(self.submissions()) <= submission:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
            argv = self.submissions()[submission]
            external_id = self.external_id(submission)
            running, succeeded, failed = _STATES[self.backend]
            self.server.script(self.backend, external_id, *running)
            (self.directory / f"accepted-{submission + 1}").touch()
            if while_running is not None and not while_running():
                return
            status = report_job(self.spark, parse_args(argv[argv.index(str(APPLICATION)) + 1 :]))
            self.server.script(self.backend, external_id, succeeded if status == 0 else failed)

        thread = threading.Thread(target=run, name="fake-driver", daemon=True)
        thread.start()
        self.drivers.append(thread)
