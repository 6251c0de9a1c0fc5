"""
spark-submit's command line: allow-listed connection extras only, an argv list, the settings' master; the
connection's password as the ``spark.authenticate`` secret in spark-submit's environment only, and a refused
handshake stopping spark-submit at once.
"""

from __future__ import annotations

import json
import logging

import pytest
from airflow.sdk.log import redact

from airflow_provider_enterprise.exceptions import SparkAuthenticationError
from airflow_provider_enterprise.hooks.spark_submit import AUTH_SECRET_PLACEHOLDER, EnterpriseSparkSubmitHook
from airflow_provider_enterprise.spark_app import SPARK_AUTH_SECRET_ENV

SECRET = "Unit-spark-auth-s3cret-41d9"


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
    assert not any("spark.authenticate" in a for a in argv)  # on Kubernetes the password is the API token
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


def test_the_password_is_the_auth_secret_in_the_environment_only(monkeypatch, capsys, caplog) -> None:
    _connection(
        monkeypatch,
        "spark_auth",
        host="spark://10.0.0.1",
        port=7077,
        password=SECRET,
        extra={"deploy-mode": "client", "network-crypto": True},
    )
    hook = EnterpriseSparkSubmitHook(conn_id="spark_auth", default_master="local[*]", name="job", env_vars={"K": "v"})
    with caplog.at_level(logging.INFO):
        argv = hook.build_command("app.py")
    assert "spark.authenticate=true" in argv and "spark.network.crypto.enabled=true" in argv
    assert f"spark.authenticate.secret={AUTH_SECRET_PLACEHOLDER}" in argv  # a driver needs the key set: not the secret
    assert not any(SECRET in a for a in argv)
    logs = capsys.readouterr().out + caplog.text
    assert "Spark-Submit cmd" in logs and SECRET not in logs
    env = hook._env  # what Popen gets on top of os.environ
    assert (env[SPARK_AUTH_SECRET_ENV], env["K"], env["PYSPARK_PYTHON"]) == (SECRET, "v", env["PYSPARK_DRIVER_PYTHON"])
    assert SECRET not in redact(f"a log line with {SECRET}")  # registered with the secrets masker


def test_without_a_password_nothing_about_authentication_is_added(monkeypatch) -> None:
    _connection(monkeypatch, "spark_open", host="spark://10.0.0.1", port=7077, extra={"network-crypto": "false"})
    hook = EnterpriseSparkSubmitHook(conn_id="spark_open", default_master="local[*]", name="job")
    assert not any("spark.authenticate" in a or "crypto" in a for a in hook.build_command("app.py"))
    assert SPARK_AUTH_SECRET_ENV not in hook._env_vars


@pytest.mark.parametrize(
    ("fields", "conf", "message"),
    [
        ({"host": "yarn", "password": SECRET}, {}, "YARN, where Spark makes and distributes a secret"),
        (
            {"host": "spark://10.0.0.1", "port": 7077, "password": SECRET, "extra": {"deploy-mode": "cluster"}},
            {},
            "a cluster-mode driver is started by a worker: use deploy-mode client",
        ),
        ({"host": "spark://10.0.0.1", "port": 7077}, {"spark.authenticate.secret": SECRET}, "command line"),
        ({"host": "spark://10.0.0.1", "port": 7077, "extra": {"network-crypto": True}}, {}, "needs authentication"),
    ],
    ids=["yarn", "standalone-cluster-mode", "secret-in-conf", "crypto-without-secret"],
)
def test_a_secret_that_could_travel_only_as_an_argument_is_refused(monkeypatch, fields, conf, message) -> None:
    _connection(monkeypatch, "spark_bad", **fields)
    with pytest.raises(SparkAuthenticationError, match=message) as refused:
        EnterpriseSparkSubmitHook(conn_id="spark_bad", default_master="local[*]", name="job", conf=conf)
    assert SECRET not in str(refused.value)


def test_network_crypto_must_be_a_boolean(monkeypatch) -> None:
    _connection(monkeypatch, "spark_odd", host="spark://10.0.0.1", port=7077, extra={"network-crypto": "--conf x=y"})
    with pytest.raises(ValueError, match="'network-crypto' of Spark connection 'spark_odd' must be true or false"):
        EnterpriseSparkSubmitHook(conn_id="spark_odd", default_master="local[*]", name="job")


class _SparkSubmit:
    """Stands in for the spark-submit process whose output is fed to the hook."""

    killed = False

    def kill(self) -> None:
        self.killed = True


#: spark-submit output recorded from Spark 4.3 (client mode) against a master with spark.authenticate on, and one
#: without it: "no secret", a wrong secret over SASL, a wrong secret with RPC encryption, a secret the master does
#: not expect.
REFUSALS = {
    "no-secret": [
        "26/12/01 23:06:55 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:50165",
        "org.apache.spark.SparkException: Exception thrown in awaitResult: ",
        "Caused by: java.lang.RuntimeException: java.lang.IllegalStateException: Expected SaslMessage, received "
        "something else (maybe your client does not have SASL enabled?)",
    ],
    "wrong-secret-sasl": [
        "26/12/01 23:08:10 ERROR TransportClientFactory: Exception while bootstrapping client after 154 ms",
        "Caused by: javax.security.sasl.SaslException: DIGEST-MD5: digest response format violation. "
        "Mismatched response.",
        "26/12/01 23:08:10 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:50165",
    ],
    "wrong-secret-aes": [
        "26/12/01 23:08:50 INFO AuthClientBootstrap: New auth protocol failed, trying SASL.",
        "26/12/01 23:08:50 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:50165",
    ],
    "master-without-authentication": [
        "26/12/01 23:11:03 ERROR TransportClientFactory: Exception while bootstrapping client after 334 ms",
        "java.lang.RuntimeException: java.lang.RuntimeException: java.io.EOFException",
        "26/12/01 23:11:03 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:47077",
    ],
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_handshake_stops_spark_submit_and_names_authentication(monkeypatch, case) -> None:
    password = None if case == "no-secret" else SECRET
    _connection(monkeypatch, "spark_auth", host="spark://127.0.0.1", port=50165, password=password)
    hook = EnterpriseSparkSubmitHook(conn_id="spark_auth", default_master="local[*]", name="job")
    hook._submit_sp = process = _SparkSubmit()
    hook._process_spark_submit_log(iter([*REFUSALS[case], "more output after the kill"]))
    assert process.killed
    assert hook._auth_refusal.startswith("authentication failed: the Spark master spark://127.0.0.1:50165 ")
    expected = "has no password" if password is None else "refused the secret of Spark connection 'spark_auth'"
    assert expected in hook._auth_refusal and SECRET not in hook._auth_refusal


def test_an_unreachable_master_is_not_an_authentication_failure(monkeypatch) -> None:
    _connection(monkeypatch, "spark_auth", host="spark://127.0.0.1", port=1, password=SECRET)
    hook = EnterpriseSparkSubmitHook(conn_id="spark_auth", default_master="local[*]", name="job")
    hook._submit_sp = process = _SparkSubmit()
    hook._process_spark_submit_log(
        iter(
            [
                "26/12/01 23:15:18 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:1",
                "Caused by: java.io.IOException: Failed to connect to /127.0.0.1:1",
                "Caused by: java.net.ConnectException: finishConnect(..) failed with error(-111): Connection refused",
            ]
        )
    )
    assert not process.killed and hook._auth_refusal is None
