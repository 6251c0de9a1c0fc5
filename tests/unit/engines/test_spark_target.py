"""What a Spark target says about itself without a cluster: its cores in local mode, a log-safe URL."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_enterprise.engines.spark import SparkTarget


@pytest.mark.parametrize(
    ("master", "cores"), [("local", os.cpu_count()), ("local[*]", os.cpu_count()), ("local[5]", 5), ("local[3,2]", 3)]
)
def test_local_masters_report_their_threads(master: str, cores: int) -> None:
    assert SparkTarget(master).cores() == cores


def test_an_unknown_cluster_reports_no_cores() -> None:
    assert SparkTarget("yarn").cores() is None


def test_a_connect_url_is_shown_without_its_token() -> None:
    target = SparkTarget("sc://spark.example:15002/;token=s3cret;user_id=me")
    assert target.is_connect and target.display == "sc://spark.example:15002"


def test_a_hashing_job_is_refused_where_its_key_would_go_on_the_command_line(monkeypatch, tmp_path) -> None:
    from airflow_provider_enterprise.compiler.masking import MaskingKey
    from airflow_provider_enterprise.config import SparkEngineSettings
    from airflow_provider_enterprise.engines.spark import SparkEngine
    from airflow_provider_enterprise.exceptions import MaskingKeyError
    from airflow_provider_enterprise.spec import validate_job_spec

    connection = {"conn_type": "spark", "host": "k8s://https://k8s.example:6443", "extra": {"deploy-mode": "cluster"}}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_K8S", json.dumps(connection))
    (tmp_path / "in.csv").write_text("email\na@example.com\n")
    spec = validate_job_spec(
        {
            "job_name": "masked",
            "input_path": str(tmp_path / "in.csv"),
            "output_path": str(tmp_path / "out"),
            "processing_logic": {"transformations": [{"type": "mask", "columns": {"email": "hash"}}]},
        }
    )
    key = MaskingKey("1", b"a-key-that-must-stay-off-argv")
    engine = SparkEngine(
        target=SparkTarget("k8s://https://k8s.example:6443", conn_id="spark_k8s", deploy_mode="cluster"),
        settings=SparkEngineSettings(),
        run_id="enterprise-1-1-abc",
        masking_keys={"enterprise_masking_default": key},
    )
    with pytest.raises(MaskingKeyError, match="only as a spark-submit argument: run it on the local engine"):
        engine.run(spec)
    assert not (tmp_path / "out").exists()
    with pytest.raises(MaskingKeyError, match="the engine was given no key"):  # no key: refused before anything runs
        SparkEngine(target=SparkTarget("local[2]"), settings=SparkEngineSettings(), run_id="r").run(spec)
