"""
Benchmark DAGs (``bench/dags``) run by ``airflow dags test`` on the embedded PostgreSQL defaults (as ``make run``),
timed from their task instances' start and end in Airflow's metadata database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def cli(env: dict[str, str], *argv: str) -> str:
    """Run a command; return what it printed."""
    return subprocess.run(list(argv), env=env, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class AirflowRuns:
    """Airflow's environment for the benchmark DAGs, with Airflow's metadata database and the job registry."""

    env: dict[str, str]
    metadata_uri: str
    registry_uri: str

    @classmethod
    def start(cls, extra_env: dict[str, str] | None = None) -> AirflowRuns:
        """Start the embedded PostgreSQL of ``$AIRFLOW_HOME`` (default ``.airflow``) and migrate both databases."""
        env = dict(os.environ)
        env.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "bench" / "dags")
        env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        env.update(extra_env or {})
        started = cli(env, "enterprise-orchestrator", "db", "start", "--database", "airflow")
        # it prints each database's URI: "registry: postgresql://...", "airflow: postgresql://..."
        uris = dict(line.split(": ", 1) for line in started.splitlines() if line.startswith(("registry:", "airflow:")))
        airflow_uri = uris["airflow"].replace("postgresql://", "postgresql+psycopg2://", 1)  # Airflow's driver
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = airflow_uri
        cli(env, "airflow", "db", "migrate")
        cli(env, "enterprise-orchestrator", "migrate")
        return cls(env, uris["airflow"], uris["registry"])

    def dags_test(self, dag_id: str, conf: dict[str, Any], extra_env: dict[str, str] | None = None) -> float:
        """
        Run one DAG run of ``dag_id`` with ``conf``; raise with the end of its log unless it succeeded. Return the
        peak RSS in MB of the ``airflow dags test`` process, which runs the run's tasks in itself.
        """
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(
                ["airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            _, status, usage = os.wait4(process.pid, 0)  # its own peak, not the largest of all children so far
            process.returncode = os.waitstatus_to_exitcode(status)
            log.seek(0)
            output = log.read()
        if "DagRun Finished" not in output or "state=success" not in output:
            raise RuntimeError(f"the benchmark DAG {dag_id} failed:\n{output[-3000:]}")
        return usage.ru_maxrss / 1024

    def task_result(self, dag_id: str, task_id: str, run_id: str) -> Any:
        """The value a task instance of run ``run_id`` returned (its ``return_value`` XCom)."""
        import psycopg

        with psycopg.connect(self.metadata_uri) as conn:
            ((value,),) = conn.execute(
                "SELECT value FROM xcom WHERE dag_id = %s AND task_id = %s AND run_id = %s AND key = 'return_value'",
                (dag_id, task_id, run_id),
            ).fetchall()
        return json.loads(value) if isinstance(value, str) else value

    def attempt_seconds(self, dag_id: str, run_id: str) -> float:
        """The duration in seconds (finished - started) of the registry's last attempt of run ``run_id``'s job."""
        import psycopg

        with psycopg.connect(self.registry_uri) as conn:
            ((seconds,),) = conn.execute(
                "SELECT extract(epoch FROM a.finished_at - a.started_at) FROM enterprise_job_attempts a"
                " JOIN enterprise_jobs j USING (job_id) WHERE j.dag_id = %s AND j.run_id = %s"
                " ORDER BY a.try_number DESC LIMIT 1",
                (dag_id, run_id),
            ).fetchall()
        return float(seconds)

    def last_task(self, dag_id: str, task_id: str) -> tuple[str, float]:
        """Return the run id and the duration in seconds (end - start) of the task's latest task instance."""
        import psycopg

        with psycopg.connect(self.metadata_uri) as conn:
            ((run_id, seconds),) = conn.execute(
                "SELECT run_id, extract(epoch FROM end_date - start_date) FROM task_instance"
                " WHERE dag_id = %s AND task_id = %s ORDER BY end_date DESC LIMIT 1",
                (dag_id, task_id),
            ).fetchall()
        return run_id, float(seconds)
