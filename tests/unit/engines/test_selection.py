"""engines/selection.py: the engine a job runs on, without a registry or a cluster where none is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.engines.reuse import ReusedOutput, Tries, run_id, try_of
from airflow_provider_enterprise.engines.selection import select_engine, spark_engine, spark_target
from airflow_provider_enterprise.exceptions import EngineNotAvailableError
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.spec import EngineName, validate_job_spec

FIRST = Tries(job_id=7, try_number=1, first_try=1)


def hook(**engines) -> EnterpriseMetadataHook:
    """A registry hook that is never connected: these selections ask no breaker and no earlier run."""
    return EnterpriseMetadataHook(settings=Settings.model_validate({"engines": engines}))


def job(tmp_path: Path, engine: str):
    source = tmp_path / "in.csv"
    source.write_text("a,b\n1,2\n")
    return validate_job_spec(
        {"job_name": "s", "input_path": str(source), "output_path": str(tmp_path / "out"), "execution_engine": engine}
    )


def test_a_local_job_gets_the_local_engine_named_for_its_try(tmp_path: Path) -> None:
    choice = select_engine(job(tmp_path, "local"), hook(local={"max_workers": 3}), tries=FIRST, attempt_id=1)
    assert isinstance(choice.engine, LocalEngine)
    assert (choice.engine.threads, choice.permit, choice.routing, choice.reused) == (3, None, None, None)
    assert try_of(choice.engine.run_id, 7) == 1


def test_a_fallback_runs_a_spark_job_on_the_local_engine(tmp_path: Path) -> None:
    choice = select_engine(
        job(tmp_path, "spark"), hook(spark={"enabled": False}), tries=FIRST, attempt_id=1, fallback=True
    )
    assert isinstance(choice.engine, LocalEngine)


def test_a_spark_job_fails_while_spark_is_disabled(tmp_path: Path) -> None:
    with pytest.raises(EngineNotAvailableError, match=r"the spark engine is disabled \(engines.spark.enabled\)"):
        select_engine(job(tmp_path, "spark"), hook(spark={"enabled": False}), tries=FIRST, attempt_id=1)
    with pytest.raises(EngineNotAvailableError, match="disabled"):
        spark_engine(Settings.model_validate({"engines": {"spark": {"enabled": False}}}).engines.spark, None, "r")
    assert (
        spark_target(Settings.model_validate({"engines": {"spark": {"enabled": False}}}).engines.spark, None)[0] is None
    )


def test_auto_routes_and_returns_the_decision(tmp_path: Path) -> None:
    choice = select_engine(job(tmp_path, "auto"), hook(spark={"enabled": False}), tries=FIRST, attempt_id=1)
    assert isinstance(choice.engine, LocalEngine)
    assert choice.routing is not None and choice.routing.engine is EngineName.LOCAL
    assert "the spark engine is disabled" in choice.routing.reason


def test_a_retry_whose_series_committed_the_output_reuses_it_on_any_engine(tmp_path: Path) -> None:
    spec = job(tmp_path, "spark")
    out = Path(spec.output_path)
    out.mkdir()
    name = run_id(7, 1)
    manifest = {"engine": "spark", "run_id": name, "files": [], "rows_in": 1, "rows_out": 1, "bad_rows": 0}
    (out / "_manifest.json").write_text(json.dumps({**manifest, "bad_rows_path": None}))
    (out / "_SUCCESS").write_text("{}")
    registry = hook(spark={"enabled": False})  # neither Spark nor its breaker is asked
    choice = select_engine(spec, registry, tries=Tries(7, 2, first_try=1), attempt_id=2)
    assert isinstance(choice.engine, ReusedOutput) and choice.reused is not None
    assert (choice.reused.run_id, choice.engine.name, choice.permit) == (name, "spark", None)
    with pytest.raises(EngineNotAvailableError):  # cleared after try 1: runs again (and Spark is off)
        select_engine(spec, registry, tries=Tries(7, 2, first_try=2), attempt_id=2)
