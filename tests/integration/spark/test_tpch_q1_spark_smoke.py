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


def test_spark_engine_q1_equals_the_hand_written_spark_q1(bench, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    path = bench.generate(0.01, tmp_path / "data", "csv")
    assert bench._run_spark_engine(path, tmp_path / "engine") == 60_175
    bench._run_spark_submit(path, tmp_path / "handwritten")
    ours = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/engine/*.parquet') ORDER BY 1, 2").fetchall()
    theirs = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/handwritten/*.parquet') ORDER BY 1, 2").fetchall()
    assert [row[:2] for row in ours] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine[:2] == reference[:2]
        assert all(math.isclose(float(a), float(b), rel_tol=1e-9) for a, b in zip(mine[2:], reference[2:], strict=True))


def test_spark_benchmark_smoke_run_writes_its_table(bench, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    out = tmp_path / "q1-spark.json"
    args = ["--engine", "spark", "--scale", "0.01", "--runs", "1", "--formats", "parquet"]
    bench.main([*args, "--data-dir", str(tmp_path), "--json", str(out)])
    summary = json.loads(out.read_text())["formats"]["parquet"]
    assert set(summary) == {"spark_engine", "spark_submit", "spark_fixed"}
    assert summary["spark_engine"]["rows"] == summary["spark_submit"]["rows"] == 60_175
    assert 0 < summary["spark_fixed"]["median_s"] < summary["spark_submit"]["median_s"]
    assert summary["spark_engine"]["ratio_to_fastest_baseline"] > 0
    assert "spark_engine / fastest baseline" in capsys.readouterr().out
