"""The Spark side of the TPC-H Q1 benchmark: the engine and the hand-written baseline agree; a smoke run."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import duckdb
import pytest

from support.env import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("tpch_q1_spark", REPO / "bench" / "tpch_q1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spark_benchmark_smoke_run_writes_its_table_and_the_engine_equals_the_hand_written_q1(
    bench, tmp_path: Path, monkeypatch, capsys
) -> None:
    # one smoke run serves both checks: each spark-submit costs 10-20 s here
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    out, outputs = tmp_path / "q1-spark.json", tmp_path / "outputs"
    args = ["--engine", "spark", "--scale", "0.01", "--runs", "1", "--formats", "csv"]
    bench.main([*args, "--data-dir", str(tmp_path), "--json", str(out), "--keep-outputs", str(outputs)])
    summary = json.loads(out.read_text())["formats"]["csv"]
    assert set(summary) == {"spark_engine", "spark_submit", "spark_fixed"}
    assert summary["spark_engine"]["rows"] == summary["spark_submit"]["rows"] == 60_175
    assert 0 < summary["spark_fixed"]["median_s"] < summary["spark_submit"]["median_s"]
    assert summary["spark_engine"]["ratio_to_fastest_baseline"] > 0
    assert "spark_engine / fastest baseline" in capsys.readouterr().out

    ours = duckdb.sql(f"SELECT * FROM read_parquet('{outputs}/csv/spark_engine/*.parquet') ORDER BY 1, 2").fetchall()
    theirs = duckdb.sql(f"SELECT * FROM read_parquet('{outputs}/csv/spark_submit/*.parquet') ORDER BY 1, 2").fetchall()
    assert [row[:2] for row in ours] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine[:2] == reference[:2]
        assert all(math.isclose(float(a), float(b), rel_tol=1e-9) for a, b in zip(mine[2:], reference[2:], strict=True))
