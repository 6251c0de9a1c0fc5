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
