"""
Tests for compiler/bad_rows.py: the bad-row rule compiled to DuckDB SQL and run in process over literal rows,
and the header check. Both engines end to end: tests/integration/engines/test_bad_rows.py and
tests/integration/spark/test_bad_rows_equivalence.py.
"""

from __future__ import annotations

import re

import duckdb
import pytest
from sqlglot import exp

from airflow_provider_enterprise.compiler.bad_rows import (
    INVALID_ENCODING,
    column_names,
    empty_as_null,
    reason_expression,
    type_pattern,
    typed_projection,
)
from airflow_provider_enterprise.compiler.plan import Column
from airflow_provider_enterprise.exceptions import InputHeaderError

COLUMNS = [Column("id", "int"), Column("amount", "decimal(5, 2)"), Column("day", "date"), Column("note", "string")]


def run(expressions: list[exp.Expr], rows: list[tuple[str | None, ...]]) -> list[tuple]:
    """Evaluate ``expressions`` in DuckDB over ``rows`` of string columns id, amount, day, note."""
    source = exp.select("*").from_(
        exp.alias_(
            exp.Values(expressions=[exp.tuple_(*(exp.convert(v) for v in row)) for row in rows]),
            "input",
            table=["id", "amount", "day", "note"],
        )
    )
    query = exp.select(*expressions).from_(exp.alias_(exp.Subquery(this=source), "rows"))
    return duckdb.sql(query.sql("duckdb")).fetchall()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("1", "123.45", "2026-12-06", "fine"), None),
        ((None, None, None, None), None),  # NULL (an empty field) is never bad
        (("-7", "1", "2026-01-01", ""), None),
        (("12x", "1", "2026-01-01", "a"), "column 'id' is not int"),
        (("99999999999", "1", "2026-01-01", "a"), "column 'id' is not int"),  # past int's range
        (("1", "1234.5", "2026-01-01", "a"), "column 'amount' is not decimal(5, 2)"),  # 4 whole digits of 3
        (("1", "1.234", "2026-01-01", "a"), "column 'amount' is not decimal(5, 2)"),  # 3 decimals of 2
        (("1", "1", "2026-02-30", "a"), "column 'day' is not date"),  # matches the pattern, no such day
        (("1", "1", "06/12/2026", "a"), "column 'day' is not date"),
        (("1", "1", "2026-01-01", "caf\ufffd"), INVALID_ENCODING),
        (("1\ufffd", "1", "2026-01-01", "a"), INVALID_ENCODING),  # a typed value failing for U+FFFD
    ],
)
def test_the_reason_a_row_is_bad(row: tuple, reason: str | None) -> None:
    assert run([reason_expression(COLUMNS)], [row]) == [(reason,)]


def test_string_columns_alone_are_never_bad_but_for_their_encoding() -> None:
    assert isinstance(reason_expression([Column("note", "string")]), exp.Case)
    assert run([reason_expression([Column("note")])], [("1", "1", "d", "anything at all")]) == [(None,)]


def test_empty_fields_become_null_and_good_rows_take_their_types() -> None:
    assert run(empty_as_null(COLUMNS), [("", "", "", "")]) == [(None, None, None, None)]
    ((typed),) = run(typed_projection(COLUMNS), [("7", "1.5", "2026-12-06", "x")])
    assert [type(v).__name__ for v in typed] == ["int", "Decimal", "date", "str"]


@pytest.mark.parametrize(
    ("type_name", "good", "bad"),
    [
        ("decimal(10, 0)", ["1234567890", "-1"], ["1.0", "12345678901", ".5"]),
        ("decimal(3, 3)", ["0.123", "-0.5", "0.", ".123", "-.5", "+.5"], ["1.1234", "0.1234", ".", "-.", ".1234"]),
        ("double", ["1e10", ".5", "-3.", "2E-3"], ["1e", "e5", "1.2.3"]),
        ("boolean", ["true", "FALSE", "TrUe"], ["yes", "1", "t"]),
        ("timestamp", ["2026-12-06 10:00:00", "2026-12-06T10:00:00.123456"], ["2026-12-06", "2026-12-06 10:00"]),
    ],
)
def test_type_patterns(type_name: str, good: list[str], bad: list[str]) -> None:
    pattern = re.compile(type_pattern(type_name) or "")
    assert all(pattern.match(v) for v in good), type_name
    assert not any(pattern.match(v) for v in bad), type_name
    assert type_pattern("string") is None


def test_header_names_are_checked() -> None:
    assert column_names("orders", ["id", "amount"], True, ["column0", "column1"]) == ("id", "amount")
    assert column_names("orders", ["1", "2"], False, ["column0", "column1"]) == ("column0", "column1")
    with pytest.raises(InputHeaderError, match="input 'orders' is empty: no header names its columns"):
        column_names("orders", None, True, [])
    with pytest.raises(InputHeaderError, match="header column 2 has no name"):
        column_names("orders", ["id", "", "x"], True, [])
    with pytest.raises(InputHeaderError, match="header column 'id' appears twice, as columns 1 and 3"):
        column_names("orders", ["id", "x", "id"], True, [])
