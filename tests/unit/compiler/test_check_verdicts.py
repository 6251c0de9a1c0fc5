"""Verdicts of checks from what they measured (engine-neutral), and their aggregates as each engine's SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from sqlglot import exp

from airflow_provider_enterprise.compiler.checks import Column, check_queries, judge
from airflow_provider_enterprise.spec import validate_job_spec

BASE = {"job_name": "daily", "input_path": "/data/in.csv", "output_path": "/data/out"}


def queries(*checks: dict):
    return check_queries(validate_job_spec({**BASE, "processing_logic": {"checks": list(checks)}}).processing_logic)


def run_on_duckdb(rows: str, *checks: dict, columns=()) -> dict[str, tuple[str, object]]:
    """Run the checks' one query over ``rows`` (a VALUES list of columns k, v, s) on DuckDB; outcome by name."""
    (query,) = queries(*checks)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM (VALUES {rows}) AS t(k, v, s)")
    sql = query.sql(exp.to_table("t"), "duckdb")
    row = {}
    if sql:
        cursor = con.execute(sql)
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    return {r.name: (r.outcome, r.observed) for r in judge(query, row, columns)}


def test_every_aggregate_check_of_a_relation_is_one_select() -> None:
    (query,) = queries(
        {"type": "not_null", "column": "k"},
        {"type": "unique", "columns": ["k", "v"]},
        {"type": "range", "column": "v", "min": 0},
        {"type": "row_count", "min": 1},
    )
    sql = query.sql(exp.to_table("t"), "duckdb")
    assert sql.count("SELECT") == 1 and sql.count("FROM") == 1
    assert 'COUNT(*) FILTER(WHERE "k" IS NULL) AS "__c0_failing"' in sql
    spark = dict(query.expressions("spark"))
    assert spark["__c1_distinct"] == "COUNT(DISTINCT `k`, `v`)"


def test_row_level_checks_count_failing_rows_and_let_nulls_pass_but_not_null() -> None:
    rows = "(1, 5, 'ab'), (2, NULL, 'x1'), (NULL, 11, NULL), (2, 7, 'cd')"
    outcome = run_on_duckdb(
        rows,
        {"type": "not_null", "column": "k"},
        {"type": "not_null", "column": "s", "severity": "warn"},
        {"type": "range", "column": "v", "min": 5, "max": 10, "min_inclusive": False},
        {"type": "accepted_values", "column": "k", "values": [1, 2]},
        {"type": "matches", "column": "s", "pattern": "^[a-z]+$"},
        {"type": "unique", "columns": ["k"]},
        {"type": "unique", "columns": ["k", "v"], "name": "pair"},
    )
    assert outcome == {
        "not_null_k": ("failed", 1),
        "not_null_s": ("warned", 1),
        "range_v": ("failed", 2),  # 5 (min exclusive) and 11; NULL passes
        "accepted_values_k": ("passed", 0),
        "matches_s": ("failed", 1),
        "unique_k": ("failed", 1),  # the second 2; the NULL key is not compared
        "pair": ("passed", 0),
    }


def test_row_count_is_judged_against_bounds_and_the_previous_run() -> None:
    rows = "(1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')"
    check = {"type": "row_count", "min": 1, "max_change_pct": 20}
    assert run_on_duckdb(rows, {**check, "previous": 3}) == {"row_count": ("passed", 3)}
    assert run_on_duckdb(rows, {**check, "previous": 2}) == {"row_count": ("failed", 3)}  # +50%
    assert run_on_duckdb(rows, check) == {"row_count": ("passed", 3)}  # no previous run
    assert run_on_duckdb(rows, {"type": "row_count", "max": 2}) == {"row_count": ("failed", 3)}


def test_freshness_is_measured_from_the_reference() -> None:
    rows = "(1, 1, '2026-03-01 10:00:00'::TIMESTAMP), (2, 2, '2026-03-01 12:00:00'::TIMESTAMP)"
    check = {"type": "freshness", "column": "s", "max_age": "1h"}
    fresh = {**check, "reference": datetime(2026, 3, 1, 12, 30, tzinfo=UTC)}
    stale = {**check, "reference": "2026-03-01T13:00:01+00:00"}
    assert run_on_duckdb(rows, fresh) == {"freshness_s": ("passed", "2026-03-01T12:00:00")}
    assert run_on_duckdb(rows, stale)["freshness_s"][0] == "failed"


@pytest.mark.parametrize(
    ("mode", "expected", "outcome"),
    [
        ("freeze", {"k": "bigint", "s": "string"}, "passed"),
        ("freeze", {"k": "bigint"}, "failed"),  # s is not expected
        ("evolve", {"k": "bigint"}, "passed"),
        ("evolve", {"k": "int"}, "failed"),
        ("evolve", {"k": "bigint", "x": "string"}, "failed"),
    ],
)
def test_schema_freeze_and_evolve(mode: str, expected: dict, outcome: str) -> None:
    (query,) = queries({"type": "schema", "columns": expected, "mode": mode})
    assert query.select(exp.to_table("t")) is None  # no rows are read
    (result,) = judge(query, {}, [Column("k", "bigint"), Column("s", "string")])
    assert result.outcome == outcome
