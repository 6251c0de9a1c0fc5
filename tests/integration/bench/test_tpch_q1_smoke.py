"""A seconds-long run of the TPC-H Q1 benchmark: it runs, writes its JSON, and the engine's Q1 is right."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import duckdb
import pytest

from support.env import REPO

pytestmark = pytest.mark.integration


def _bench():
    spec = importlib.util.spec_from_file_location("tpch_q1", REPO / "bench" / "tpch_q1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_q1_equals_the_hand_written_duckdb_q1(tmp_path: Path) -> None:
    bench = _bench()
    path = bench.generate(0.01, tmp_path / "data", "csv")
    assert bench._run_engine(path, tmp_path / "engine") == (60_175, 0)  # records in, bad rows
    bench._run_duckdb(path, tmp_path / "duckdb")
    ours = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/engine/*.parquet')").fetchall()
    theirs = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/duckdb/*.parquet')").fetchall()
    assert [row[:2] for row in ours] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine[:2] == reference[:2]
        assert all(math.isclose(float(a), float(b), rel_tol=1e-9) for a, b in zip(mine[2:], reference[2:], strict=True))


def test_benchmark_smoke_run_writes_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q1.json"
    _bench().main(
        ["--scale", "0.01", "--runs", "1", "--formats", "parquet", "--data-dir", str(tmp_path), "--json", str(out)]
    )
    results = json.loads(out.read_text())
    summary = results["formats"]["parquet"]
    assert set(summary) == {"engine", "engine_one_scan", "duckdb", "polars"}
    assert all(row["rows"] == 60_175 and row["median_s"] > 0 for row in summary.values())
    assert summary["engine"]["ratio_to_fastest_baseline"] > 0
    assert "engine / fastest baseline" in capsys.readouterr().out
