"""Malformed input rows on the DuckDB engine: counted, quarantined with a reason, dropped or failing the job."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.engines.commit import BAD_ROWS_FILE
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import BadRowsError
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import MIXED, SCHEMA

pytestmark = pytest.mark.integration


def run(tmp_path: Path, on_bad_rows: str, schema: dict | None = SCHEMA):
    source = tmp_path / "in.csv"
    source.write_bytes(MIXED)
    spec = validate_job_spec(
        {
            "job_name": "bad_rows",
            "input_path": str(source),
            "input_options": {"schema": schema} if schema else {},
            "output_path": str(tmp_path / "out"),
            "on_bad_rows": on_bad_rows,
        }
    )
    return LocalEngine().run(spec)


def test_quarantine_writes_every_bad_row_with_its_reason(tmp_path: Path) -> None:
    result = run(tmp_path, "quarantine")
    assert (result.rows_in, result.rows_out, result.bad_rows) == (10, 3, 7)
    good = duckdb.sql(f"SELECT id, flag FROM read_parquet('{tmp_path}/out/*.parquet') ORDER BY id").fetchall()
    assert good == [(1, True), (10, True), (None, None)]
    lines = [json.loads(line) for line in (tmp_path / "out" / BAD_ROWS_FILE).read_text().splitlines()]
    assert sorted(line["reason"] for line in lines) == [
        "column 'amount' is not double",
        "column 'amount' is not double",
        "column 'day' is not date",
        "column 'flag' is not boolean",
        "invalid encoding",
        "malformed record: missing columns",
        "malformed record: too many columns",
    ]
    typed = next(line for line in lines if line["reason"] == "column 'flag' is not boolean")
    assert typed["values"] == {"id": "6", "amount": "4.0", "day": "2026-01-06", "flag": "yes", "__extra": None}
    too_many = next(line for line in lines if line["reason"] == "malformed record: too many columns")
    assert too_many["values"] == {"id": "4", "amount": "2.0", "day": "2026-01-04", "flag": "true", "__extra": "extra"}
    encoding = next(line for line in lines if line["reason"] == "invalid encoding")
    assert encoding["record"].startswith("7,5") and encoding["line"] == 8  # the reader's reject: the raw line
    assert result.bad_rows_path == str(tmp_path / "out" / BAD_ROWS_FILE)


def test_drop_counts_but_writes_no_quarantine(tmp_path: Path) -> None:
    result = run(tmp_path, "drop")
    assert (result.rows_in, result.rows_out, result.bad_rows) == (10, 3, 7)
    assert not (tmp_path / "out" / "_bad_rows").exists() and result.bad_rows_path is None


def test_fail_refuses_before_writing(tmp_path: Path) -> None:
    with pytest.raises(BadRowsError, match=r"input 'input': 7 \(line 8: invalid encoding\)"):
        run(tmp_path, "fail")
    assert not (tmp_path / "out").exists()


def test_inferred_schema_uses_the_same_rules(tmp_path: Path) -> None:
    result = run(tmp_path, "quarantine", schema=None)
    assert result.rows_in == 10 and result.rows_in == result.rows_out + result.bad_rows
    assert result.bad_rows >= 3  # the reader's rejects at least; the sniffed types decide the rest
