"""
Tests for embedded_db.py's decisions, without starting a server: where its data lives and when it is refused.
Starting, reusing and stopping a real one: every integration test's registry (tests/conftest.py) and
tests/integration/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.dev import embedded_db


def test_the_data_directory_is_configured_else_under_airflow_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configured = Settings.model_validate({"embedded_db_dir": str(tmp_path / "pg")})
    assert embedded_db.data_dir(configured) == tmp_path / "pg"
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    assert embedded_db.data_dir(Settings()) == tmp_path / "home" / "enterprise" / "pgdata"
    monkeypatch.delenv("AIRFLOW_HOME")
    assert embedded_db.data_dir(Settings()).name == "pgdata"  # the user's data directory


@pytest.mark.parametrize(
    ("executor", "refused"),
    [
        ("LocalExecutor", None),
        ("airflow.executors.local_executor.LocalExecutor", None),
        ("CeleryExecutor", "executor CeleryExecutor runs tasks on other hosts"),
        ("LocalExecutor,KubernetesExecutor", "executor KubernetesExecutor runs tasks on other hosts"),
        ("my_team:CeleryExecutor", "executor CeleryExecutor runs tasks on other hosts"),
    ],
)
def test_executors_on_other_hosts_refuse_it(monkeypatch: pytest.MonkeyPatch, executor: str, refused: str) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    reason = embedded_db.refusal_reason(Settings())
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused)
        assert "split circuit breakers and dead letters" in reason


def test_production_refuses_it() -> None:
    production = Settings.model_validate({"environment": "production"})
    assert embedded_db.refusal_reason(production) == "ENVIRONMENT=production requires a configured registry database"


def test_no_server_runs_on_a_directory_that_holds_none(tmp_path: Path) -> None:
    assert embedded_db.running_server(tmp_path) is None
    (tmp_path / "PG_VERSION").write_text("18\n")  # a data directory, but no postmaster
    assert embedded_db.running_server(tmp_path) is None
