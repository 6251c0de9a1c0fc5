"""
Bad rows are the same rows on DuckDB and Spark, and good + bad = input records on both.

A fixed file with every kind of bad row (one defect each, so the reasons agree too), then a Hypothesis test
(``BAD_ROWS_EXAMPLES``, 25 derandomized examples by default) writing CSV files of good and bad values, short
and long records and invalid bytes, and files of thousands of such records compared bad row by bad row: the same
records, with the same reasons, on both engines.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import given

from airflow_provider_enterprise.engines import quarantine
from airflow_provider_enterprise.engines.duckdb_inputs import input_columns, register, relation_name
from airflow_provider_enterprise.exceptions import InputHeaderError
from airflow_provider_enterprise.spark_app.inputs import read_input
from airflow_provider_enterprise.spec import InputSpec
from support.bad_row_values import COLUMNS, files_with_bad_records, large_file_with_bad_records
from support.env import MIXED, SCHEMA
from support.examples import derandomized

EXAMPLES = int(os.environ.get("BAD_ROWS_EXAMPLES", "25"))


def both_engines(spark, path: Path, schema: dict[str, str] | None = SCHEMA) -> dict[str, dict]:
    source = InputSpec(path=str(path), format="csv", schema=schema)
    con = duckdb.connect()
    registered = register(con, "input", source, [str(path)], input_columns(con, "input", source, [str(path)]))
    rejected, failed = registered.bad.located(con) if registered.bad else ([], [])
    duck_bad = [bad.reason for bad in [*rejected, *failed]]
    read = read_input(spark, "input", source, [str(path)])
    if read.count().split:  # as the job does: records split at quoted line breaks, read again with multiLine
        read = read_input(spark, "input", source, [str(path)], multi_line=True)
    spark_bad = read.bad.collect()
    return {
        "duckdb": {
            "columns": registered.columns,
            "good": con.execute(f'SELECT * FROM "{relation_name("input")}"').fetchall(),
            "bad": sorted(reason.split(":")[0] for reason in duck_bad),
            "records": registered.records,
        },
        "spark": {
            "columns": read.columns,
            "good": [tuple(row) for row in read.good.collect()],
            "bad": sorted(row["reason"].split(":")[0] for row in spark_bad),
            "records": read.good.count() + len(spark_bad),
        },
    }


def _key(row: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in row)


def assert_same(result: dict[str, dict], records: int) -> None:
    duck, spark = result["duckdb"], result["spark"]
    assert duck["records"] == spark["records"] == records
    # the same records are bad; a record with two defects may be reported by either (compared in the fixed test)
    assert len(duck["bad"]) == len(spark["bad"])
    assert len(duck["good"]) + len(duck["bad"]) == records
    for a, b in zip(sorted(duck["good"], key=_key), sorted(spark["good"], key=_key), strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float):
                assert math.isclose(x, y, rel_tol=1e-12), (a, b)
            else:
                assert x == y, (a, b)


def test_every_kind_of_bad_row_is_classified_alike(spark, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(MIXED)
    result = both_engines(spark, path)
    assert_same(result, records=10)
    assert (
        result["duckdb"]["bad"]
        == result["spark"]["bad"]
        == [
            "column 'amount' is not double",
            "column 'amount' is not double",
            "column 'day' is not date",
            "column 'flag' is not boolean",
            "invalid encoding",
            "malformed record",
            "malformed record",
        ]
    )


def test_quoted_line_breaks_are_read_alike(spark, tmp_path: Path) -> None:
    path = tmp_path / "line_breaks.csv"
    path.write_bytes(
        b"id,category,amount\n"
        b'1,"multi\nline",1\n'
        b"2,plain,2\n"
        b'3,"two\r\nbreaks\nhere",x\n'  # a bad row holding line breaks
        b"4,short\n"
        b'"5","last\n",5\n'
    )
    schema = {"id": "int", "category": "string", "amount": "int"}
    result = both_engines(spark, path, schema)
    assert_same(result, records=5)
    assert sorted(result["spark"]["good"]) == [(1, "multi\nline", 1), (2, "plain", 2), (5, "last\n", 5)]
    assert result["spark"]["bad"] == ["column 'amount' is not int", "malformed record"]


def test_a_file_without_quoted_line_breaks_is_read_line_by_line(spark, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(MIXED)
    read = read_input(spark, "input", InputSpec(path=str(path), format="csv", schema=SCHEMA), [str(path)])
    assert not read.multi_line and read.count() == (10, 7, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,amount,amount\n1,2,3\n", "header column 'amount' appears twice, as columns 2 and 3"),
        (b"id,,amount\n1,2,3\n", "header column 2 has no name"),
        (b"", "input 'input' is empty"),
    ],
)
def test_a_header_that_cannot_name_the_columns_fails_alike(spark, tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    source = InputSpec(path=str(path), format="csv")
    with pytest.raises(InputHeaderError, match=message):
        input_columns(duckdb.connect(), "input", source, [str(path)])
    with pytest.raises(InputHeaderError, match=message):
        read_input(spark, "input", source, [str(path)])


def test_quoted_header_names_and_empty_files_with_a_schema_read_alike(spark, tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'id,"q""uote"\n1,2\n')
    result = both_engines(spark, path, schema=None)
    assert (
        [c.name for c in result["duckdb"]["columns"]]
        == [c.name for c in result["spark"]["columns"]]
        == ["id", 'q"uote']
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = both_engines(spark, empty, schema={"id": "int", "amount": "double"})
    assert_same(result, records=0)
    assert [c.name for c in result["spark"]["columns"]] == ["id", "amount"]


@derandomized(EXAMPLES)
@given(generated=files_with_bad_records())
def test_generated_files_give_the_same_good_and_bad_rows(spark, tmp_path_factory, generated) -> None:
    data, records = generated
    path = tmp_path_factory.mktemp("generated") / "in.csv"
    path.write_bytes(data)
    assert_same(both_engines(spark, path, COLUMNS), records=records)


def fields(record: str) -> tuple[str, ...]:
    """A record's fields as a CSV reader splits and unquotes them (bytes that are not UTF-8 as U+FFFD), without
    the empty fields past the columns (which are not fields: see docs/job-spec.md#bad-rows)."""
    split = next(csv.reader(io.StringIO(record, newline="")))
    while len(split) > len(COLUMNS) and not split[-1]:
        split.pop()
    return tuple(split)


def bad_records_by_engine(spark, path: Path) -> dict[str, Counter]:
    """Each engine's bad records as (reason, fields): DuckDB's located in the file by the quarantine, Spark's from
    its corrupt-record column (malformed records) or its values as read."""
    source = InputSpec(path=str(path), format="csv", schema=COLUMNS)
    con = duckdb.connect()
    registered = register(con, "input", source, [str(path)], input_columns(con, "input", source, [str(path)]))
    duck: Counter = Counter()
    if registered.bad:
        rejected, failed = registered.bad.located(con)
        for bad, record in quarantine.locate(registered.bad.files, rejected, list(failed)):
            duck[(bad.reason.split(":")[0], fields(record.data.decode("utf-8", errors="replace")))] += 1
    read = read_input(spark, "input", source, [str(path)])
    if read.count().split:
        read = read_input(spark, "input", source, [str(path)], multi_line=True)
    spark_bad: Counter = Counter()
    for row in read.bad.collect():
        if row["record"] is not None:
            values = fields(row["record"].rstrip("\r\n"))
        else:
            values = tuple("" if v is None else v for v in row["values"])
        spark_bad[(row["reason"].split(":")[0], values)] += 1
    return {"duckdb": duck, "spark": spark_bad}


@pytest.mark.parametrize("seed", [1, 2])
def test_thousands_of_records_give_the_same_bad_rows_with_the_same_reasons(spark, tmp_path: Path, seed: int) -> None:
    path = tmp_path / "large.csv"
    path.write_bytes(large_file_with_bad_records(5_000, seed))
    found = bad_records_by_engine(spark, path)
    reasons = Counter(reason for reason, _ in found["duckdb"].elements())
    # every kind of bad row is there, in numbers
    assert reasons["malformed record"] >= 50 and reasons["invalid encoding"] >= 50, reasons
    assert sum(count for reason, count in reasons.items() if reason.startswith("column")) >= 500, reasons
    assert found["duckdb"] == found["spark"], (found["duckdb"] - found["spark"], found["spark"] - found["duckdb"])


def test_empty_fields_past_the_columns_are_not_fields_on_either_engine(spark, tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_bytes(
        b"id,amount\n"
        b"1,2.5,\n"  # a trailing delimiter
        b'2,3.5,,""\n'  # more empty fields, one quoted
        b"3,,\r\n"  # an empty column, then a trailing delimiter
        b'4,"4.5",\n'
        b"5,5.5,x\n"  # a field past the columns that is not empty: malformed
        b"6,\n"  # two fields: the columns, the last one empty
        b"7\n"  # too few
    )
    result = both_engines(spark, path, {"id": "int", "amount": "double"})
    assert_same(result, records=7)
    assert sorted(result["duckdb"]["good"]) == [(1, 2.5), (2, 3.5), (3, None), (4, 4.5), (6, None)]
    assert result["spark"]["bad"] == ["malformed record", "malformed record"]
