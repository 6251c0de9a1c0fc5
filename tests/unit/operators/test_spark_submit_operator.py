"""EnterpriseSparkSubmitOperator: mistakes refused when the DAG is parsed, or before anything is submitted."""

from __future__ import annotations

import json

import pytest

from airflow_provider_enterprise.exceptions import PermanentJobError
from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook
from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator


def operator(**kwargs) -> EnterpriseSparkSubmitOperator:
    return EnterpriseSparkSubmitOperator(**{"task_id": "app", "application": "app.jar", **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"deferrable": True}, "deferrable=True needs deploy_mode='cluster'"),
        ({"deferrable": True, "deploy_mode": "client"}, "deferrable=True needs deploy_mode='cluster'"),
        ({"deploy_mode": "both"}, "deploy_mode must be 'client' or 'cluster', got 'both'"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"poll_interval": -1}, "poll_interval must be positive"),
        ({"spark_resources": {"executor_memory": "lots"}}, "executor_memory"),
        ({"spark_resources": {"conf": {"hadoop.x": "1"}}}, "start with 'spark.'"),
        ({"on_circuit_open": "fallback"}, "on_circuit_open must be one of 'fail_fast', 'defer'"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        operator(**kwargs)


def test_defaults_name_the_job_after_the_task_and_record_the_submission() -> None:
    op = operator(application_args=["--day", 3], conf={"spark.sql.shuffle.partitions": 8}, deploy_mode="cluster")
    assert op.job_name == "app"
    submission = op._submission()
    assert submission["application_args"] == ["--day", "3"]
    assert submission["conf"] == {"spark.sql.shuffle.partitions": "8"}
    assert submission["deploy_mode"] == "cluster"


def hook_on(monkeypatch, master: str, port: int | None, deploy_mode: str) -> EnterpriseSparkSubmitHook:
    conn = {"conn_type": "spark", "host": master, "extra": {"deploy-mode": deploy_mode}}
    if port:
        conn["port"] = port
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_MODE_TEST", json.dumps(conn))
    return EnterpriseSparkSubmitHook(conn_id="spark_mode_test", default_master="local[*]", name="x", detached=True)


def test_modes_spark_refuses_are_permanent_errors(monkeypatch) -> None:
    standalone_cluster = hook_on(monkeypatch, "spark://10.0.0.1", 7077, "cluster")
    with pytest.raises(PermanentJobError, match="refuses cluster deploy mode for 'job.py'"):
        operator()._check_mode(standalone_cluster, "job.py")
    operator()._check_mode(standalone_cluster, "job.jar")  # JVM applications are fine

    local_cluster = hook_on(monkeypatch, "local[2]", None, "cluster")
    with pytest.raises(PermanentJobError, match="cluster deploy mode is not available on master 'local"):
        operator()._check_mode(local_cluster, "job.jar")

    client = hook_on(monkeypatch, "spark://10.0.0.1", 7077, "client")
    with pytest.raises(PermanentJobError, match="deferrable=True needs cluster deploy mode"):
        operator(deferrable=True, deploy_mode="cluster")._check_mode(client, "job.jar")


def test_client_mode_runs_pyspark_with_this_interpreter(monkeypatch) -> None:
    import sys

    client = hook_on(monkeypatch, "spark://10.0.0.1", 7077, "client")
    client.build_command("job.py")
    assert client._env == {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
