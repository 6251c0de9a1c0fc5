from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_enterprise.config import InvalidSettings, load_settings

SEED_YAML = """
engines:
  spark:
    enabled: true
    master: spark://spark-master:7077
    executor_memory: 4g
    executor_cores: 2
    max_executors: 10
  local:
    enabled: true
    max_workers: 4
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "enterprise.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_without_any_source() -> None:
    settings = load_settings({}, use_airflow=False)
    assert settings.database_url is None
    assert settings.engines.local.enabled
    assert settings.metadata_conn_id == "enterprise_metadata_default"


def test_seed_yaml_shape_loads(tmp_path: Path) -> None:
    settings = load_settings({"ENTERPRISE_CONFIG": write(tmp_path, SEED_YAML)}, use_airflow=False)
    assert settings.engines.spark.master == "spark://spark-master:7077"
    assert settings.engines.spark.max_executors == 10
    assert settings.engines.local.max_workers == 4


def test_the_csv_proof_is_off_unless_turned_on(tmp_path: Path) -> None:
    assert load_settings({}, use_airflow=False).engines.local.csv_proof_min_bytes is None
    text = "engines:\n  local:\n    csv_proof_min_bytes: 67108864\n"
    settings = load_settings({"ENTERPRISE_CONFIG": write(tmp_path, text)}, use_airflow=False)
    assert settings.engines.local.csv_proof_min_bytes == 64 * 2**20


def test_environment_variables_win_over_the_file(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ENTERPRISE_CONFIG": write(tmp_path, SEED_YAML),
            "SPARK_MASTER_URL": "spark://other:7077",
            "DATABASE_URL": "postgresql://u:secret@db/registry",
            "LOG_LEVEL": "DEBUG",
            "ENVIRONMENT": "production",
        },
        use_airflow=False,
    )
    assert settings.engines.spark.master == "spark://other:7077"
    assert settings.engines.spark.executor_memory == "4g"  # the rest of the file still applies
    assert settings.database_url.get_secret_value() == "postgresql://u:secret@db/registry"
    assert "secret" not in repr(settings)
    assert settings.environment.value == "production"


def test_airflow_section_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__METADATA_CONN_ID", "my_registry")
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__SPARK_MASTER_URL", "spark://af:7077")
    settings = load_settings()
    assert settings.metadata_conn_id == "my_registry"
    assert settings.engines.spark.master == "spark://af:7077"


def test_the_file_is_not_overridden_by_options_nobody_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the provider once declared defaults for [enterprise], which Airflow returns as if set: a file's
    # `environment: production` read as development
    text = "environment: production\nlog_level: DEBUG\nauto_migrate: false\nengines:\n  spark:\n    master: spark://f:7077\n"
    environ = {"ENTERPRISE_CONFIG": write(tmp_path, text)}
    settings = load_settings(environ)
    assert settings.environment.value == "production"
    assert (settings.log_level, settings.auto_migrate, settings.engines.spark.master) == (
        "DEBUG",
        False,
        "spark://f:7077",
    )
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__LOG_LEVEL", "WARNING")  # what a user sets there still wins
    assert load_settings(environ).log_level == "WARNING"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("engines:\n  spark:\n    mastr: x\n", "engines.spark.mastr: Extra inputs are not permitted"),
        ("engines:\n  local:\n    max_workers: zero\n", "engines.local.max_workers: Input should be a valid integer"),
        ("engines:\n  spark:\n    executor_memory: lots\n", "engines.spark.executor_memory: String should match"),
        ("unknown_section: {}\n", "unknown_section: Extra inputs are not permitted"),
        ("- a list\n", "expected a mapping at the top level"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        load_settings({"ENTERPRISE_CONFIG": write(tmp_path, text)}, use_airflow=False)
    assert expected in str(raised.value)


def test_missing_file_and_bad_env_value_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="no such file"):
        load_settings({"ENTERPRISE_CONFIG": str(tmp_path / "missing.yaml")}, use_airflow=False)
    with pytest.raises(InvalidSettings, match="log_level"):
        load_settings({"LOG_LEVEL": "LOUD"}, use_airflow=False)
