"""
Spark authentication on a real standalone cluster: a second master + worker on loopback with
``spark.authenticate`` and RPC encryption on, the secret in the daemons' environment. Through the operator
(``dag.test()``), a job whose Spark connection holds the secret (its password) runs with authentication and
encryption on; without a secret, or with a wrong one, it is refused at once with an error that says
authentication failed. The secret is in no task log, no process's command line, no registry row, no event log
and no file of the cluster.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook
from airflow_provider_enterprise.spark_app import SPARK_AUTH_SECRET_ENV
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import EXAMPLE_DAGS
from support.secrets import registry_text
from support.spark_cluster import SparkCluster

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
#: Throwaway secrets of this module's cluster.
SECRET = "Sp4rk-auth-s3cret-2c81f0e7"
WRONG = "Wr0ng-spark-secret-9d3e55ab"


@pytest.fixture(scope="module")
def auth_cluster(tmp_path_factory) -> Iterator[SparkCluster]:
    """A master and a worker that require ``spark.authenticate`` with :data:`SECRET` and encrypt RPC (AES)."""
    cluster = SparkCluster(
        tmp_path_factory.mktemp("spark-auth-cluster"),
        worker_cores=2,
        worker_memory="1g",
        connect_server=False,
        daemon_conf={"spark.authenticate": "true", "spark.network.crypto.enabled": "true"},
        daemon_env={SPARK_AUTH_SECRET_ENV: SECRET},  # not on the daemons' command lines
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def connection(cluster: SparkCluster, password: str | None) -> dict:
    """The Spark connection to ``cluster``: with a password, also RPC encryption (which needs authentication)."""
    extra = {"deploy-mode": "client", "master-ui-url": cluster.ui_url}
    if password is None:
        return {"conn_type": "spark", "host": cluster.master_url, "extra": extra}
    extra |= {"network-crypto": True}
    return {"conn_type": "spark", "host": cluster.master_url, "password": password, "extra": extra}


def files_text(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


class CommandLines:
    """Every process's command line, sampled while a job runs (what ``ps`` shows)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                with contextlib.suppress(OSError):  # the process ended
                    self.seen.add(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            time.sleep(0.2)

    def __enter__(self) -> CommandLines:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_dag(dags, registry, cluster, tmp_path: Path, monkeypatch, capture, password: str | None):
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection(cluster, password)))
    capfd, caplog = capture
    with CommandLines() as ps:
        started = time.monotonic()
        dag_run = dags.spark_engine.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path / "out")})
        seconds = time.monotonic() - started
    logs = capfd.readouterr()
    job = registry.find_job(JobKey(dag_run.dag_id, dag_run.run_id, "process"))
    return dag_run, job, logs.out + logs.err + caplog.text, ps.seen, seconds


def assert_secrets_absent(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and WRONG not in text


def test_the_clusters_secret_runs_the_job_authenticated_and_encrypted(
    dags, registry, auth_cluster, tmp_path: Path, monkeypatch, capfd, caplog
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        "engines:\n  spark:\n    conf:\n"
        f"      spark.eventLog.enabled: 'true'\n      spark.eventLog.dir: '{events.as_uri()}'\n"
        "      spark.eventLog.compress: 'false'\n"
    )
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    dag_run, job, logs, command_lines, _ = run_dag(
        dags, registry, auth_cluster, tmp_path, monkeypatch, (capfd, caplog), SECRET
    )
    (attempt,) = job["attempts"]
    assert dag_run.state == "success", attempt["error_message"]

    spec = validate_job_spec(
        dags.spark_engine.get_task("process")._spec_data()
        | {"input_path": str(SAMPLE), "output_path": str(tmp_path / "local"), "execution_engine": "local"}
    )
    LocalEngine().run(spec)
    rows = "SELECT * FROM read_parquet('{}/**/*.parquet') ORDER BY ALL"
    assert duckdb.sql(rows.format(tmp_path / "out")).fetchall() == duckdb.sql(rows.format(spec.output_path)).fetchall()
    (app,) = [a for a in auth_cluster.applications() if a["name"] == attempt["external_id"]]
    assert app["state"] == "FINISHED"

    # Authentication and AES encryption were on: in the driver's properties and on the executor's command line.
    event_log = files_text(events)  # Spark 4 writes a directory of rolled files
    (environment,) = [json.loads(line) for line in event_log.splitlines() if "SparkListenerEnvironmentUpdate" in line]
    properties = dict(environment["Spark Properties"])
    assert (properties["spark.authenticate"], properties["spark.network.crypto.enabled"]) == ("true", "true")
    executor_command = next((auth_cluster.workdir / "work").rglob("stderr")).read_text().splitlines()[0]
    assert '"-Dspark.authenticate=true"' in executor_command
    assert '"-Dspark.network.crypto.enabled=true"' in executor_command

    # The secret: not in spark-submit's argv (built, logged or seen in /proc), anywhere else it could land.
    hook = EnterpriseSparkSubmitHook(conn_id="spark_default", default_master="local[*]", name="job")
    argv = hook.build_command("app.py")
    assert "spark.authenticate=true" in argv and not any(SECRET in a for a in argv)
    assert "Spark-Submit cmd" in logs and "spark.authenticate=true" in logs
    assert any("org.apache.spark.deploy.SparkSubmit" in c for c in command_lines)  # sampled while it ran
    assert_secrets_absent(
        logs, "\n".join(command_lines), registry_text(registry), event_log, files_text(auth_cluster.workdir)
    )


@pytest.mark.parametrize(
    ("password", "cause"),
    [
        (None, "requires authentication (spark.authenticate) and Spark connection 'spark_default' has no password"),
        (WRONG, "refused the secret of Spark connection 'spark_default'"),
    ],
    ids=["no-secret", "wrong-secret"],
)
def test_a_missing_or_wrong_secret_is_refused_at_once_saying_authentication_failed(
    dags, registry, auth_cluster, tmp_path: Path, monkeypatch, capfd, caplog, password, cause
) -> None:
    dag_run, job, logs, command_lines, seconds = run_dag(
        dags, registry, auth_cluster, tmp_path, monkeypatch, (capfd, caplog), password
    )
    assert dag_run.state == "failed"
    (attempt,) = job["attempts"]  # a permanent error: no retry
    assert attempt["error_class"] == "SparkAuthenticationError"
    assert attempt["error_message"].startswith(f"authentication failed: the Spark master {auth_cluster.master_url} ")
    assert cause in attempt["error_message"] and cause in logs
    assert seconds < 45  # Spark alone retries registering for 60 s
    assert attempt["external_id"] not in [a["name"] for a in auth_cluster.applications()]  # never registered
    assert not (tmp_path / "out").exists()
    assert_secrets_absent(logs, "\n".join(command_lines), registry_text(registry))
