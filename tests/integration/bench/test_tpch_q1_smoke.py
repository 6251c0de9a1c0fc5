"""A seconds-long run of the TPC-H Q1 benchmark: it runs, writes its JSON, and the engine's Q1 is right."""

from __future__ import annotations

import csv
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
    assert bench._run_engine(path, tmp_path / "engine") == (60_175, 0, [])  # records in, bad rows, their lines
    bench._run_duckdb(path, tmp_path / "duckdb")
    bench._run_floor(path, tmp_path / "floor")  # the strings converted unchecked: the same Q1
    theirs = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/duckdb/*.parquet')").fetchall()
    for candidate in ("engine", "floor"):
        ours = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/{candidate}/*.parquet')").fetchall()
        assert [row[:2] for row in ours] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine[:2] == reference[:2]
            assert all(
                math.isclose(float(a), float(b), rel_tol=1e-9) for a, b in zip(mine[2:], reference[2:], strict=True)
            )


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


def test_a_bad_rows_run_checks_every_quarantined_record_at_its_line(tmp_path: Path) -> None:
    bench = _bench()
    argv = ["--scale", "0.01", "--runs", "1", "--formats", "csv", "--data-dir", str(tmp_path), "--bad-rows", "0.0001"]
    summary = bench.main(argv)["formats"]["csv"]
    assert summary["engine"]["rows"] == 60_175
    # record n is on line n + 1, after the header
    assert bench.bad_lines_made(60_175, 0.0001) == [10_001, 20_001, 30_001, 40_001, 50_001, 60_001]
    # a quarantine that misplaces a record fails the run
    path = tmp_path / "sf0.01" / "csv" / "lineitem-with-bad-rows-0.0001.csv"
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*lines[:10_000], lines[10_001], lines[10_000], *lines[10_002:]]))
    with pytest.raises(RuntimeError, match="the quarantine is not the lines made bad"):
        bench.main(argv)


def test_bad_rows_generator_keeps_each_record_on_its_line(tmp_path: Path) -> None:
    # comments that end with a comma once lost their closing quote in a short record, which then ran into the next
    # line: the file held fewer records than lines, and the SF12 run counted 2 records "missing"
    header = "l_orderkey,l_partkey,l_suppkey,l_linenumber,l_quantity,l_extendedprice,l_discount,l_tax,l_returnflag,"
    header += "l_linestatus,l_shipdate,l_commitdate,l_receiptdate,l_shipinstruct,l_shipmode,l_comment"
    record = '{n},1,2,3,4,5.0,0.1,0.2,N,O,1996-03-13,1996-02-12,1996-03-22,NONE,MAIL,"{comment}"'
    comments = ["plain", "ends with a comma,", "a, b,", ",", ""]
    lines = [record.format(n=n, comment=comments[n % len(comments)]) for n in range(1, 43)]
    source = tmp_path / "lineitem.csv"
    source.write_text("\n".join([header, *lines]) + "\n")
    made = _bench().with_bad_rows(source, 1.0)  # every record made bad, each kind in turn
    with made.open(newline="", encoding="latin-1") as file:
        reader = csv.reader(file)
        next(reader)
        widths = [(reader.line_num, len(fields)) for fields in reader]
    kinds = [16, 16, 16, 15, 17, 16, 16]  # three bad values, a short and a long record, two bad strings
    assert widths == [(n + 1, kinds[n % 7]) for n in range(1, 43)]
