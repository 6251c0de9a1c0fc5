"""
Tests for engines/one_scan_check.py in DuckDB over literal rows: the one-scan tests never accept a record the
bad-row rules refuse, and say which errors refute the scan. A real CSV read: tests/integration/engines/
test_csv_fast_path.py.
"""

from __future__ import annotations

import duckdb
import pytest
from sqlglot import exp

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column
from airflow_provider_enterprise.engines.one_scan_check import BAD_ROW_IN_ONE_SCAN, guarded, one_scan_refuted

#: Texts of each type: good ones, bad ones, and good ones with unusual spellings (which one scan may refute).
CORPUS = {
    "int": ["0", "-12", "2147483647", "+5", "007", "-0", "2147483648", "1.0", "x", " 1", "1e3"],
    "bigint": ["9223372036854775807", "9223372036854775808", "-1", "01"],
    "double": ["1.5", ".5", "-3.", "1e308", "1e309", "NaN", "inf", "1,5", "0x10"],
    "decimal(5, 2)": ["123.45", "-0.5", "1234.5", "1.234", "+1", "1e2"],
    "boolean": ["true", "FALSE", "TrUe", "t", "1", "yes"],
    "date": ["2026-12-06", "2026-02-29", "2024-02-29", "2026-2-6", "20261206", "2026-12-06 00:00:00"],
    "timestamp": ["2026-12-06 10:00:00", "2026-12-06T10:00:00.5", "2026-12-06", "2026-12-06 25:00:00"],
    "string": ["plain", "", "caf\ufffd"],
}


def query(sql: str) -> list[tuple]:
    """Run ``sql`` on a fresh in-memory DuckDB connection."""
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def strings(values: list[str | None]) -> exp.Select:
    rows = exp.Values(expressions=[exp.tuple_(exp.convert(v)) for v in values])
    return exp.select("*").from_(exp.alias_(rows, "t", table=["v"]))


def one_scan(type_name: str, values: list[str | None]) -> list | Exception:
    checked = guarded(strings(values), [Column("v", type_name)])
    try:
        return [row[0] for row in query(checked.sql("duckdb"))]
    except duckdb.Error as err:
        return err


def rules(type_name: str, value: str) -> tuple[str | None, object]:
    """The rules' reason for ``value`` (None: good) and, when good, its typed value."""
    column = [Column("v", type_name)]
    source = exp.Subquery(this=strings([value]), alias=exp.TableAlias(this=exp.to_identifier("s")))
    reason = query(exp.select(bad_rows.reason_expression(column)).from_(source).sql("duckdb"))[0][0]
    if reason is not None:
        return reason, None
    return None, query(exp.select(*bad_rows.typed_projection(column)).from_(source).sql("duckdb"))[0][0]


@pytest.mark.parametrize(("type_name", "value"), [(t, v) for t, values in CORPUS.items() for v in values])
def test_one_scan_never_accepts_what_the_rules_refuse(type_name: str, value: str) -> None:
    outcome = one_scan(type_name, [value])
    reason, typed = rules(type_name, value)
    if isinstance(outcome, Exception):
        assert one_scan_refuted(outcome), outcome  # refuted: the engine reads the input again, checked
    else:
        assert reason is None, f"one scan accepted {value!r} as {type_name}, the rules say {reason}"
        assert outcome == [typed]


def test_good_records_pass_typed_and_empty_fields_stay_null() -> None:
    for type_name, values in CORPUS.items():  # the first text of each type is plain: one scan takes it
        assert not isinstance(one_scan(type_name, values[:1]), Exception), type_name
    assert one_scan("int", ["1", None, "-2"]) == [1, None, -2]
    assert one_scan("boolean", ["true", "False"]) == [True, False]


def test_a_bad_record_refutes_the_scan_and_other_errors_do_not() -> None:
    refuted = one_scan("boolean", ["true", "yes"])
    assert isinstance(refuted, duckdb.InvalidInputException) and BAD_ROW_IN_ONE_SCAN in str(refuted)
    assert one_scan_refuted(refuted)
    assert one_scan_refuted(one_scan("int", ["x"]))  # the CAST itself failed
    with pytest.raises(duckdb.Error) as missing:
        query("SELECT * FROM no_such_table")
    assert not one_scan_refuted(missing.value)
    assert not one_scan_refuted(duckdb.InvalidInputException("some other invalid input"))
