"""The cost model of execution_engine='auto': hard rules first, then estimated time per engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.engines.routing import choose_engine
from airflow_provider_enterprise.spec import EngineName, validate_job_spec


@pytest.fixture
def spec(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"a,b\n" + b"1,2\n" * 25_000)  # 100,004 bytes: ~1,000 rows at 100 bytes a row
    return validate_job_spec({"job_name": "r", "input_path": str(source), "output_path": str(tmp_path / "out")})


def settings(**routing) -> Settings:
    return Settings.model_validate({"engines": {"routing": routing}})


def test_a_small_input_runs_locally_where_spark_pays_its_start_up(spec) -> None:
    decision = choose_engine(spec, settings(), spark_cores=64)
    assert decision.engine is EngineName.LOCAL
    assert (decision.input_bytes, decision.estimated_rows, decision.spark_cores) == (100_004, 1_000, 64)
    assert decision.local_seconds < decision.spark_seconds


def test_spark_wins_when_its_cores_outrun_the_local_rate(spec) -> None:
    # 1,000 rows: local 1 + 1000/10 = 101 s; spark 5 + 1000/(10*64) = 6.6 s
    decision = choose_engine(
        spec,
        settings(
            local_fixed_seconds=1, local_rows_per_second=10, spark_fixed_seconds=5, spark_rows_per_second_per_core=10
        ),
        spark_cores=64,
    )
    assert decision.engine is EngineName.SPARK
    assert decision.reason == "estimated 101.0 s local vs 6.6 s on spark (64 cores): spark"


def test_the_same_model_keeps_the_job_local_on_two_cores(spec) -> None:
    slow = settings(
        local_fixed_seconds=1, local_rows_per_second=10, spark_fixed_seconds=5, spark_rows_per_second_per_core=0.1
    )
    assert choose_engine(spec, slow, spark_cores=2).engine is EngineName.LOCAL


def test_an_input_over_the_local_limit_goes_to_spark(spec) -> None:
    decision = choose_engine(spec, settings(local_max_bytes=1000), spark_cores=2)
    assert decision.engine is EngineName.SPARK
    assert decision.reason == "input of 100004 bytes exceeds the local limit of 1000"


def test_an_unavailable_spark_sends_the_job_local_whatever_its_size(spec) -> None:
    decision = choose_engine(spec, settings(local_max_bytes=0), spark_cores=None, spark_unavailable="breaker open")
    assert (decision.engine, decision.reason) == (EngineName.LOCAL, "breaker open: local")


def test_unknown_cores_assume_the_configured_executors(spec) -> None:
    decision = choose_engine(spec, settings(), spark_cores=None)
    assert decision.spark_cores == 2 * 4  # executor_cores * max_executors
    assert decision.to_dict()["engine"] == "local"
