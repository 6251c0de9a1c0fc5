"""
The shared Airflow stack: separate api-server, scheduler, dag-processor and triggerer processes, and on demand
Celery workers, each with a host name of its own.

Configured from ``deploy/airflow.env`` (the file ``docker-compose.yaml`` uses too), with Airflow's metadata in
its own PostgreSQL database and the job registry in another. Every process is started in its own process
group and stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.fernet import Fernet

from support.env import BIN, EXAMPLE_DAGS, REPO, parse_env_file
from support.processes import stop_group, wait_ready

ENV_FILE = REPO / "deploy" / "airflow.env"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "stack-admin-password"
#: The stack's users: name -> (simple auth manager role, password). ``editor`` may edit DAG runs, ``viewer`` not.
USERS = {
    ADMIN_USER: ("admin", ADMIN_PASSWORD),
    "editor": ("user", "stack-editor-password"),
    "viewer": ("viewer", "stack-viewer-password"),
}
EXAMPLE_DAG = "enterprise_daily_processing"
EXAMPLE_TASK = "process_daily_data"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
TERMINAL_RUN_STATES = ("success", "failed")
#: How often the waits below ask the API server again: a run ends on average half an interval before it is seen.
POLL_SECONDS = 0.25


class StackError(RuntimeError):
    """The stack did not start or a run did not finish in time; the message carries the logs' tails."""


@dataclass
class CeleryWorker:
    """
    An ``airflow celery worker`` on a host of its own: a UTS namespace (``unshare --uts``) gives its tasks their
    own host name, which Airflow and the registry record, as on separate machines.
    """

    hostname: str
    queues: tuple[str, ...]
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Lose the host: SIGKILL the worker, its pool, the task supervisors and the tasks at once."""
        tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.process.wait(10)

    def stop(self, grace: float = 30) -> None:
        stop_group(self.process, grace)


@dataclass
class AirflowStack:
    """A running Airflow deployment made of real processes."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    workers: dict[str, CeleryWorker] = field(default_factory=dict)
    statsd: Any = None  # the UDP sink (support.statsd.UdpSink) the processes send their metrics to
    redis: Any = None  # the Redis server (support.redis_server.RedisServer): Celery's broker, the event streams'
    _client: httpx.Client | None = None

    @property
    def base_url(self) -> str:
        return self.env["AIRFLOW__API__BASE_URL"]

    @classmethod
    def configure(
        cls,
        home: Path,
        *,
        sql_alchemy_conn: str,
        registry_url: str,
        dags_folder: Path,
        extra: dict[str, str],
        statsd: Any = None,
    ) -> AirflowStack:
        home.mkdir(parents=True, exist_ok=True)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({name: password for name, (_, password) in USERS.items()}))
        env = {
            **os.environ,
            **parse_env_file(ENV_FILE),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{name}:{role}" for name, (role, _) in USERS.items()),
            # One key for every process: each would otherwise generate its own into airflow.cfg at start (they
            # race), and the triggerer could not decrypt the trigger arguments the scheduler encrypted.
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": registry_url,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            **extra,
        }
        return cls(home=home, env=env, statsd=statsd)

    # -- processes -------------------------------------------------------------------------------------

    def log_path(self, component: str) -> Path:
        return self.home / f"{component}.log"

    def start(self, timeout: float = 180) -> None:
        for component in COMPONENTS:
            self._start_component(component)
        self.wait_healthy(timeout)

    def _start_component(self, component: str, mode: str = "wb") -> None:
        args = [str(BIN / "airflow"), component]
        if component == "api-server":
            args += ["--workers", "1"]
        with self.log_path(component).open(mode) as log:
            self.processes[component] = subprocess.Popen(
                args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def restart(self, component: str, timeout: float = 120) -> None:
        """Stop a component (SIGTERM, as a deployment's rollout does), start it again and wait until healthy."""
        stop_group(self.processes[component])
        self._start_component(component, mode="ab")
        self.wait_healthy(timeout)

    def start_celery_workers(
        self, queues_of: dict[str, tuple[str, ...]], concurrency: int = 2
    ) -> dict[str, CeleryWorker]:
        """
        Start a Celery worker per host name of ``queues_of``, serving that host's queues; wait until each takes
        tasks. They start side by side: each costs seconds of Airflow's imports.
        """
        started = []
        for hostname, queues in queues_of.items():
            log = self.log_path(f"worker-{hostname}")
            worker_argv = [str(BIN / "airflow"), "celery", "worker", "--celery-hostname", f"celery@{hostname}"]
            worker_argv += ["--queues", ",".join(queues), "--concurrency", str(concurrency)]
            worker_argv += ["--pid", str(self.home / f"worker-{hostname}.pid"), "--skip-serve-logs"]
            # the host name comes in as an argument of a fixed script, never as shell text
            argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname, *worker_argv]
            with log.open("wb") as out:
                process = subprocess.Popen(
                    argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            self.workers[hostname] = worker = CeleryWorker(hostname, queues, process, log)
            started.append(worker)
        for worker in started:
            wait_ready(
                f"celery worker {worker.hostname}",
                lambda log=worker.log: b" ready." in log.read_bytes(),
                worker.process,
                worker.log,
                timeout=120,
            )
        return {worker.hostname: worker for worker in started}

    def stop(self, grace: float = 20) -> None:
        for worker in self.workers.values():
            worker.stop()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if self._client:
            self._client.close()

    @contextlib.contextmanager
    def paused(self, component: str) -> Iterator[None]:
        """Freeze a component and its children (SIGSTOP to its process group) for the ``with`` block."""
        group = self.processes[component].pid
        os.killpg(group, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(group, signal.SIGCONT)

    def logs_tail(self, lines: int = 40) -> str:
        parts = []
        for component in (*COMPONENTS, *(f"worker-{name}" for name in self.workers)):
            path = self.log_path(component)
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            parts.append(f"--- {component} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            dead = [name for name, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise StackError(f"stack components exited: {dead}\n{self.logs_tail()}")
            try:
                last = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                if all(
                    last.get(part, {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                ):
                    return last
            except httpx.HTTPError as err:
                last = err
            time.sleep(POLL_SECONDS)
        raise StackError(f"stack not healthy after {timeout} s: {last}\n{self.logs_tail()}")

    # -- REST API --------------------------------------------------------------------------------------

    def token(self, username: str = ADMIN_USER) -> str:
        """A JWT of one of :data:`USERS`."""
        response = httpx.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": USERS[username][1]}, timeout=30
        )
        response.raise_for_status()
        return response.json()["access_token"]

    @property
    def client(self) -> httpx.Client:
        """An HTTP client authenticated as the admin user."""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, headers={"Authorization": f"Bearer {self.token()}"}, timeout=30
            )
        return self._client

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """
        Wait until the dag-processor has parsed ``dag_id``, then unpause it and have its file parsed again: the
        triggers of an unpaused DAG's asset watchers are made by that parse (the stack's dag-processor parses a file
        again only every few minutes).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.client.get(f"/api/v2/dags/{dag_id}")
            if response.status_code == 200:
                if response.json()["is_paused"]:
                    self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
                    parse = self.client.put(f"/api/v2/parseDagFile/{response.json()['file_token']}")
                    if parse.status_code != 409:  # 409: that file's parse is asked for already (DAGs sharing a file)
                        parse.raise_for_status()
                return
            time.sleep(POLL_SECONDS)
        raise StackError(f"DAG {dag_id} not parsed after {timeout} s\n{self.logs_tail()}")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger ``dag_id`` without a logical date (as the UI and CLI do) and return the run id."""
        response = self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        if response.status_code >= 400:
            raise StackError(f"trigger of {dag_id} refused: {response.status_code} {response.text}")
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        """Wait until the run exists and is in a terminal state; return that state."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json().get("state")  # 404: not yet
            if state in TERMINAL_RUN_STATES:
                return state
            time.sleep(POLL_SECONDS)
        raise StackError(f"run {run_id} still {state} after {timeout} s\n{self.logs_tail()}")

    def clear_failed(self, dag_id: str, run_id: str) -> None:
        """Clear the failed task instances of a run so the scheduler runs them again."""
        response = self.client.post(
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dag_run_id": run_id, "only_failed": True, "dry_run": False, "reset_dag_runs": True},
        )
        if response.status_code >= 400:
            raise StackError(f"clear refused: {response.status_code} {response.text}")

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        response.raise_for_status()
        return response.json()

    def mark_task(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Set a task instance's state as a user does in the UI (mark failed / success)."""
        response = self.client.patch(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": state}
        )
        if response.status_code >= 400:
            raise StackError(f"marking {task_id} {state} refused: {response.status_code} {response.text}")

    def put_connection(self, conn_id: str, **fields: Any) -> None:
        """Create or replace an Airflow connection through the REST API (the stack's processes read it there)."""
        self.client.delete(f"/api/v2/connections/{conn_id}")
        response = self.client.post("/api/v2/connections", json={"connection_id": conn_id, **fields})
        if response.status_code >= 400:
            raise StackError(f"connection {conn_id} refused: {response.status_code} {response.text}")


def dead_letter_of_a_late_input(stack: AirflowStack, registry: Any, late_input: Path) -> dict:
    """Run the example processing DAG on a missing input; return its dead letter, then let the input arrive."""
    # imported here: the session's conftest imports this module before it points Airflow at its databases
    from airflow_provider_enterprise.hooks.metadata import JobKey
    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

    stack.wait_for_dag(EXAMPLE_DAG)
    run_id = stack.trigger(EXAMPLE_DAG, conf={"input_path": str(late_input)})
    assert stack.wait_for_run(EXAMPLE_DAG, run_id) == "failed"
    job = registry.find_job(JobKey(EXAMPLE_DAG, run_id, EXAMPLE_TASK))
    (letter,) = [d for d in DeadLetterQueue(registry).find(dag_id=EXAMPLE_DAG) if d["job_id"] == job["job_id"]]
    assert (letter["status"], letter["error_class"], letter["try_number"]) == ("open", "InputNotFoundError", 1)
    shutil.copy(EXAMPLE_DAGS / "data" / "transactions.csv", late_input)
    return letter
