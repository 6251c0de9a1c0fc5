"""
Tests for engines/one_scan_check.py in DuckDB over literal rows: the one scan accepts exactly the records the
bad-row rules accept, with the rules' values, and says which errors refute the scan. A real CSV read:
tests/integration/engines/test_csv_fast_path.py.
"""

from __future__ import annotations

import itertools

import duckdb
import pytest
from sqlglot import exp

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, data_type
from airflow_provider_enterprise.engines.one_scan_check import (
    BAD_ROW_IN_ONE_SCAN,
    bad_record,
    good_values,
    guarded,
    one_scan_refuted,
    with_values,
)

#: Texts of each type: good ones, bad ones, good ones with unusual spellings (which the one scan matches against
#: the pattern) and ones DuckDB prints differently (other eras and years, a double's own spelling).
CORPUS = {
    "int": ["0", "-12", "2147483647", "+5", "007", "-0", "2147483648", "-2147483649", "+000000001", "1.0", "x"]
    + [" 1", "1e3", "1,2", ",", "1_000", "0x1F"],
    "bigint": ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-1", "01", "1e2", "12e2"],
    "double": ["1.5", ".5", "-3.", "1e308", "1e309", "1e999", "1e1000", "NaN", "inf", "1,5", "0x10", "1.5,", "."]
    + ["901.00", "1e0005", "+-1", " 1.5", "1_5", "1.5 "],
    "decimal(5, 2)": ["123.45", "-0.5", "1234.5", "1.234", "+1", "1e2", ".5", "5.", "-.05", "1,5"],
    "decimal(3, 0)": ["123", "-5", "1234", "5.", "1.5"],
    "boolean": ["true", "FALSE", "TrUe", "t", "1", "yes", "true,false"],
    "date": ["2026-12-06", "2026-02-29", "2024-02-29", "2026-2-6", "20261206", "2026-12-06 00:00:00", "2026-13-01"]
    + ["0000-01-01", "0001-01-01 (BC)", "10000-01-01", "infinity", "-2026-12-06", " 2026-12-06", "2026/12/06"],
    "timestamp": ["2026-12-06 10:00:00", "2026-12-06T10:00:00.5", "2026-12-06", "2026-12-06 25:00:00"]
    + ["2026-02-30 10:00:00", "2026-12-06 23:59:60", "2026-12-06 10:00:00.1234567", "2026-12-06 10:00:00.500000"]
    + ["0000-01-01 00:00:00", "0001-01-01 (BC) 00:00:00", "10000-01-01 00:00:00", "2026-12-06 10:00:00Z"]
    + ["2026-12-06 24:00:00", "2026-12-06 10:00", "infinity"],
    "string": ["plain", "", "caf\ufffd", "a,b"],
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
def test_one_scan_accepts_exactly_what_the_rules_accept(type_name: str, value: str) -> None:
    outcome = one_scan(type_name, [value])
    reason, typed = rules(type_name, value)
    if isinstance(outcome, Exception):
        assert one_scan_refuted(outcome), outcome  # refuted: the engine reads the input again, checked
        assert reason is not None, f"one scan refused {value!r} as {type_name}, which the rules accept"
    else:
        assert reason is None, f"one scan accepted {value!r} as {type_name}, the rules say {reason}"
        assert outcome == [typed]


@pytest.mark.parametrize("value", [v for values in CORPUS.values() for v in values])
def test_a_record_of_every_type_gets_the_rules_verdict(value: str) -> None:
    """One record with a column of each type, each holding ``value``: bad exactly when the rules say so."""
    columns = [Column(f"c{i}", type_name) for i, type_name in enumerate(CORPUS)]
    row = exp.select(*(exp.alias_(exp.convert(value or None), c.name) for c in columns))  # empty fields are NULL
    source = exp.Subquery(this=row, alias=exp.TableAlias(this=exp.to_identifier("s")))
    reason = query(exp.select(bad_rows.reason_expression(columns)).from_(source).sql("duckdb"))[0][0]
    record = exp.Subquery(this=with_values(row.copy(), columns), alias=exp.TableAlias(this=exp.to_identifier("v")))
    outcome = query(exp.select(bad_record(columns)).from_(record).sql("duckdb"))[0][0]
    assert bool(outcome) is (reason is not None), (value, reason)  # NULL (an empty string) is good


def _texts(alphabet: str, longest: int) -> list[str]:
    return ["".join(t) for n in range(1, longest + 1) for t in itertools.product(alphabet, repeat=n)]


def _edits(text: str, alphabet: str) -> list[str]:
    """``text`` with any one or two characters replaced by one of ``alphabet``, and with one inserted or removed."""
    once = {text[:i] + a + text[i + 1 :] for i in range(len(text)) for a in alphabet}
    twice = {e[:j] + a + e[j + 1 :] for e in once for j in range(len(e)) for a in alphabet}
    moved = {text[:i] + a + text[i:] for i in range(len(text) + 1) for a in alphabet}
    return sorted(twice | moved | {text[:i] + text[i + 1 :] for i in range(len(text))})


#: Every short text over characters that DuckDB's conversions treat specially, and edits of good texts: the one
#: scan's cheap tests must never accept what the pattern refuses.
GENERATED = {
    "int": _texts("019+-. e_x", 4),
    "bigint": _texts("09+-.eE _", 4) + _edits("9223372036854775807", "09+-"),
    "double": _texts("09+-.eE _inf", 4),
    "decimal(5, 2)": _texts("09+-. e_", 5),
    "boolean": _edits("false", "aEeFfLlSsTtRrUu 01"),
    "date": _edits("2024-02-29", "0129-/ T(."),
    "timestamp": _edits("2024-02-29 10:00:00.5", "0129-: T(.Z"),
}


@pytest.mark.parametrize("type_name", list(GENERATED))
def test_one_scan_gives_the_rules_verdict_and_value_on_generated_texts(type_name: str) -> None:
    column = [Column("v", type_name)]
    texts = exp.select(exp.alias_(exp.Unnest(expressions=[exp.Placeholder()]), "v"))
    judged = exp.Subquery(this=with_values(texts, column), alias=exp.TableAlias(this=exp.to_identifier("j")))
    verdicts = exp.select(
        "v",
        exp.alias_(bad_record(column), "bad"),
        exp.alias_(bad_rows.reason_expression(column), "reason"),
        exp.alias_(good_values(column)[0].this, "value"),
        exp.alias_(exp.TryCast(this=exp.column("v"), to=data_type(type_name), safe=True), "typed"),
    ).from_(judged)
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT v, bad, reason FROM ({verdicts.sql('duckdb')}) "
            "WHERE coalesce(bad, false) <> (reason IS NOT NULL) OR (reason IS NULL AND value IS DISTINCT FROM typed)",
            [GENERATED[type_name]],
        ).fetchall()
    assert rows == [], f"{len(rows)} of {len(GENERATED[type_name])} texts judged unlike the rules: {rows[:10]}"


def test_good_records_pass_typed_and_empty_fields_stay_null() -> None:
    for type_name, values in CORPUS.items():  # the first text of each type is plain: one scan takes it
        assert not isinstance(one_scan(type_name, values[:1]), Exception), type_name
    assert one_scan("int", ["1", None, "-2"]) == [1, None, -2]
    assert one_scan("boolean", ["true", "False"]) == [True, False]


def test_a_bad_record_refutes_the_scan_and_other_errors_do_not() -> None:
    refuted = one_scan("boolean", ["true", "yes"])
    assert isinstance(refuted, duckdb.InvalidInputException) and BAD_ROW_IN_ONE_SCAN in str(refuted)
    assert one_scan_refuted(refuted)
    assert one_scan_refuted(one_scan("int", ["x"]))
    assert one_scan_refuted(duckdb.ConversionException("Could not convert string 'x' to INT32"))
    with pytest.raises(duckdb.Error) as missing:
        query("SELECT * FROM no_such_table")
    assert not one_scan_refuted(missing.value)
    assert not one_scan_refuted(duckdb.InvalidInputException("some other invalid input"))
