"""spark-submit's command line: allow-listed connection extras only, an argv list, the settings' master."""

from __future__ import annotations

import json

from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook


def test_extras_outside_the_allow_list_never_reach_the_argv(monkeypatch) -> None:
    extra = {"deploy-mode": "client", "spark-home": "/tmp/evil; rm -rf /", "keytab": "ZXZpbA==", "queue": "etl"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_X",
        json.dumps({"conn_type": "spark", "host": "spark://10.0.0.1", "port": 7077, "extra": extra}),
    )
    hook = EnterpriseSparkSubmitHook(conn_id="spark_x", default_master="local[*]", name="job")
    argv = hook.build_command("app.py")
    assert isinstance(argv, list)
    assert argv[:3] == ["spark-submit", "--master", "spark://10.0.0.1:7077"]
    assert argv[argv.index("--deploy-mode") + 1] == "client"
    assert not any("evil" in a or "keytab" in a for a in argv)


def test_a_missing_connection_uses_the_settings_master(monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SPARK_DEFAULT", raising=False)
    hook = EnterpriseSparkSubmitHook(conn_id="spark_default", default_master="local[2]", name="job")
    assert hook.master == "local[2]" and hook.master_ui_url is None
    assert hook.build_command("app.py")[:3] == ["spark-submit", "--master", "local[2]"]


def _connection(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "spark", **fields}))


def test_detached_kubernetes_submission_returns_once_the_driver_pod_exists(monkeypatch) -> None:
    _connection(
        monkeypatch,
        "spark_k8s",
        host="k8s://https://k8s.example:6443",
        password="service-account-token",
        extra={"deploy-mode": "cluster", "namespace": "jobs"},
    )
    hook = EnterpriseSparkSubmitHook(conn_id="spark_k8s", default_master="local[*]", name="job", detached=True)
    argv = hook.build_command("local:///opt/app.jar")
    assert hook.backend == "kubernetes"
    assert "spark.kubernetes.submission.waitAppCompletion=false" in argv
    assert "spark.kubernetes.namespace=jobs" in argv
    assert not any("service-account-token" in a for a in argv)
    tracker = hook.tracker()
    assert (tracker.backend, tracker.base_url, tracker.token) == (
        "kubernetes",
        "https://k8s.example:6443",
        "service-account-token",
    )


def test_detached_yarn_submission_returns_once_yarn_accepted_it(monkeypatch) -> None:
    _connection(
        monkeypatch,
        "spark_yarn",
        host="yarn",
        extra={"deploy-mode": "cluster", "queue": "etl", "yarn_resourcemanager_webapp_address": "rm.example:8088"},
    )
    hook = EnterpriseSparkSubmitHook(conn_id="spark_yarn", default_master="local[*]", name="job", detached=True)
    argv = hook.build_command("app.py")
    assert hook.backend == "yarn"
    assert "spark.yarn.submit.waitAppCompletion=false" in argv
    assert argv[argv.index("--queue") + 1] == "etl"
    assert hook.tracker().base_url == "http://rm.example:8088"


def test_standalone_cluster_mode_is_tracked_on_the_rest_port(monkeypatch) -> None:
    _connection(
        monkeypatch,
        "spark_sa",
        host="spark://10.0.0.1",
        port=7077,
        extra={"deploy-mode": "cluster", "rest-port": 16066},
    )
    hook = EnterpriseSparkSubmitHook(conn_id="spark_sa", default_master="local[*]", name="job", detached=True)
    assert hook.backend == "standalone"
    assert hook.tracker().base_url == "http://10.0.0.1:16066"


def test_client_mode_has_no_backend_to_track(monkeypatch) -> None:
    _connection(monkeypatch, "spark_client", host="spark://10.0.0.1", port=7077, extra={"deploy-mode": "client"})
    hook = EnterpriseSparkSubmitHook(conn_id="spark_client", default_master="local[*]", name="job", detached=True)
    assert hook.backend is None
    assert "waitAppCompletion" not in " ".join(hook.build_command("app.py"))
