"""
The one-scan path of a CSV input gives the checked path's outputs, record counts and bad-row verdicts.

Each generated file (good and bad values of every type, edge spellings, short and long records, invalid bytes,
quoted line breaks, empty lines) is registered twice: checked (a scan of its own finds the bad rows) and in one
scan (the job's scan checks every record and fails on a bad one). Each query runs on both. Where the checked path
finds no bad row, the one scan must hold, count the same records and give the same rows; where it finds one, the
one scan must be refuted, whichever rows the query reads (a filter on a column the check does not look at, a
join, an aggregate of one column).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from airflow_provider_enterprise.engines.duckdb_inputs import (
    input_columns,
    proof_refuted,
    register,
    relation_name,
    scanned_records,
)
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.engines.one_scan_check import one_scan_refuted
from airflow_provider_enterprise.output.commit import BAD_ROWS_FILE
from airflow_provider_enterprise.spec import InputSpec, validate_job_spec
from support.bad_row_values import BAD, COLUMNS, GOOD, files_with_bad_records
from support.examples import derandomized

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("CSV_FAST_PATH_EXAMPLES", "40"))
INPUT = relation_name("input")
#: Queries that read every record, among them ones whose filters DuckDB would move below the check.
QUERIES = {
    "every column": f'SELECT * FROM "{INPUT}"',
    "a filter on a string": f"SELECT i FROM \"{INPUT}\" WHERE s = 'x'",
    "a filter on a typed column": f'SELECT s FROM "{INPUT}" WHERE d > 0',
    "an aggregate of one column": f'SELECT count(*), max(big) FROM "{INPUT}"',
    "a join with itself": f'SELECT a.i, b.s FROM "{INPUT}" a JOIN "{INPUT}" b ON a.i IS NOT DISTINCT FROM b.i',
    "a sort": f'SELECT * FROM "{INPUT}" ORDER BY i NULLS FIRST, s NULLS FIRST',
    "the top row": f'SELECT i FROM "{INPUT}" ORDER BY d DESC NULLS LAST, i LIMIT 1',
}


def checked(path: Path, query: str) -> tuple[int, int, list]:
    """The records, bad rows and the query's rows of ``path`` on the checked path."""
    source = InputSpec(path=str(path), format="csv", schema=COLUMNS)
    con = duckdb.connect()
    columns = input_columns(con, "input", source, [str(path)])
    registered = register(con, "input", source, [str(path)], columns, prove=False)
    return registered.records, registered.bad_rows, sorted(con.execute(query).fetchall(), key=repr)


def one_scan(path: Path, query: str) -> tuple[int, list] | None:
    """The records and the query's rows of ``path`` read in one scan; None when the scan refutes it."""
    source = InputSpec(path=str(path), format="csv", schema=COLUMNS)
    con = duckdb.connect()
    columns = input_columns(con, "input", source, [str(path)])
    registered = register(con, "input", source, [str(path)], columns, prove=False, one_scan=True)
    try:
        rows = con.execute(query).fetchall()
    except duckdb.Error as err:
        assert one_scan_refuted(err), err
        return None
    counted = scanned_records(con, {"input": registered})
    if "input" not in counted or proof_refuted(con, registered):
        return None
    return counted["input"], sorted(rows, key=repr)


def assert_same_verdict(path: Path, queries: dict[str, str] = QUERIES) -> bool:
    """Both paths agree on ``path`` under every query; whether it is clean. The one scan holds only where the checked
    path finds no bad row, and there with the same records and rows: a good value of any spelling never refutes it."""
    for name, query in queries.items():
        try:
            records, bad, rows = checked(path, query)
        except duckdb.Error:  # the reader refuses the file on both paths
            with pytest.raises(duckdb.Error):
                one_scan(path, query)
            return False
        fast = one_scan(path, query)
        if bad:
            assert fast is None, f"{name}: one scan holds, but the check finds {bad} bad rows"
        elif records or "join" not in name:
            assert fast == (records, rows), name
        else:  # a join with an empty side stops reading: no count, the engine runs the job checked
            assert fast is None, name
    return not bad


@st.composite
def edge_files(draw) -> bytes:
    """Records of edge spellings: every type's good and bad values, quoted or not, empty or quoted empty."""
    lines = [",".join(COLUMNS)]
    for _ in range(draw(st.integers(1, 5))):
        fields = []
        for type_name in COLUMNS.values():
            value = draw(BAD[type_name] if draw(st.integers(0, 7)) == 0 else GOOD[type_name])
            if value and not value.startswith('"') and draw(st.integers(0, 4)) == 0:
                value = '"' + value + '"'
            fields.append(value or draw(st.sampled_from(["", '""'])))  # empty: NULL, quoted or not
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


def test_generated_files_get_the_same_verdict_on_both_paths(tmp_path_factory) -> None:
    clean: list[bool] = []

    @derandomized(EXAMPLES)
    @given(data=st.one_of(files_with_bad_records().map(lambda generated: generated[0]), edge_files()))
    def agree(data: bytes) -> None:
        path = tmp_path_factory.mktemp("generated") / "in.csv"
        path.write_bytes(data)
        note(repr(data))
        clean.append(assert_same_verdict(path))

    agree()
    # both verdicts must occur to test anything
    assert 0.1 < sum(clean) / len(clean) < 0.9, f"{sum(clean)} of {len(clean)} clean"


#: One good record, each column's value quoted where it may hold the delimiter.
GOOD_RECORD = {"i": "1", "big": "2", "d": "1.5", "dec": "1.50", "day": "2026-01-01", "b": "true", "s": "x"}
SPELLINGS = [
    (column, value, verdict)
    for column, type_name in COLUMNS.items()
    for verdict, values in (("good", GOOD), ("bad", BAD))
    for value in values[type_name].elements
]


#: Edge spellings of every type, judged by the checked path: spaces, signs, leading zeros, exponents, hexadecimal,
#: underscores, infinities and NaN, 1-digit months and days, values out of range, U+FFFD, other scripts' digits.
EDGES = {
    "i": ["+1", "-0", "00", "0001", " 1", "1 ", "1_0", "0x1F", "1e2", "1.0", "2147483647", "-2147483649", "\uff11"],
    "big": ["-9223372036854775808", "00000000000000000000001", "0xFFFFFF", "1E2", "0b101", "\u0663"],
    "d": ["inf", "nan", "-Infinity", "1e999", "1e0001", "1.", ".5", "-.5", ".", "-", "1_0.5", "0x10", "1.5e+3", "1d"],
    "dec": ["12345678.99", "123456789", "000000000001.5", ".5", "-.5", "1.", "1.5e1", "1.555"],
    "day": ["2026-1-05", "2026-01-5", "0000-01-01", "10000-01-01", "2026-01-01 ", "infinity", "2026-13-01", "26-1-1"],
    "b": ["TRUE", "tRuE", "t", "f", "0", "on", "true ", "\ufffd"],
    "s": ["a\ufffdb", " ", "\ufffd\ufffd"],
}


def spelled(tmp_path: Path, column: str, value: str) -> Path:
    """A file of a good record and one with ``value`` (quoted) in ``column``."""
    record = {**GOOD_RECORD, column: value if value.startswith('"') else f'"{value}"'}
    path = tmp_path / "in.csv"
    path.write_text("i,big,d,dec,day,b,s\n" + ",".join(GOOD_RECORD.values()) + "\n" + ",".join(record.values()) + "\n")
    return path


@pytest.mark.parametrize(("column", "value", "verdict"), SPELLINGS)
def test_every_spelling_of_every_type_gets_the_same_verdict(tmp_path: Path, column: str, value: str, verdict: str):
    assert assert_same_verdict(spelled(tmp_path, column, value)) is (verdict == "good")


@pytest.mark.parametrize(("column", "value"), [(c, v) for c, values in EDGES.items() for v in values])
def test_the_one_scan_accepts_no_edge_spelling_the_checked_path_refuses(tmp_path: Path, column: str, value: str):
    assert_same_verdict(spelled(tmp_path, column, value), {"every column": QUERIES["every column"]})


def test_a_query_that_does_not_read_every_record_is_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("i,big,d,dec,day,b,s\n" + "1,2,1.5,1.50,2026-01-01,true,x\n" * 5000)
    assert one_scan(path, f'SELECT * FROM "{INPUT}" LIMIT 1') is None
    assert one_scan(path, f'SELECT * FROM "{INPUT}" WHERE false') is None
    empty = f'SELECT a.i FROM "{INPUT}" a JOIN (SELECT * FROM "{INPUT}" WHERE s = \'none\') b USING (i)'
    assert one_scan(path, empty) is None
    assert one_scan(path, f'SELECT count(*) FROM "{INPUT}"') == (5000, [(5000,)])


def _spec(path: Path, out: Path, **logic) -> dict:
    return {
        "job_name": "one_scan",
        "input_path": str(path),
        "input_options": {"schema": {"id": "int", "amount": "double", "day": "date", "flag": "boolean"}},
        "output_path": str(out),
        "output_format": "csv",
        "processing_logic": {"transformations": [{"type": "filter", "condition": "flag"}], **logic},
    }


@pytest.mark.parametrize("bad", [False, True])
def test_the_engine_reads_a_clean_file_once_and_a_dirty_one_again_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: bool
) -> None:
    path = tmp_path / "in.csv"
    rows = ["1,10.5,2026-01-01,true", "2,,2026-01-02,false", '3,"1e3",,True'] + (["4,1_0,2026-01-04,true"] * bad)
    path.write_text("id,amount,day,flag\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        fast = LocalEngine(proof_min_bytes=None).run(validate_job_spec(_spec(path, tmp_path / "fast")))
    # a checkpointed job reads its inputs checked: the reference
    reference = LocalEngine(proof_min_bytes=None).run(
        validate_job_spec(_spec(path, tmp_path / "checked", checkpoint=True))
    )
    assert (fast.rows_in, fast.rows_out, fast.bad_rows) == (reference.rows_in, reference.rows_out, reference.bad_rows)
    assert (fast.rows_in, fast.rows_out, fast.bad_rows) == (3 + bad, 2, int(bad))
    for part in ("part-00000.csv", *([BAD_ROWS_FILE] if bad else [])):
        assert (tmp_path / "fast" / part).read_bytes() == (tmp_path / "checked" / part).read_bytes()
    assert ("again, its inputs checked" in caplog.text) is bad
    # the refuted run left nothing behind: one output, no staging directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checked", "fast", "in.csv"]


def test_a_conversion_error_of_the_query_itself_is_raised_as_itself(tmp_path: Path) -> None:
    # a failed CAST refutes the one scan (it may be an input's value): the checked run raises the query's own error
    path = tmp_path / "in.csv"
    path.write_text("id,amount,day,flag\n1,10.5,2026-01-01,true\n")
    spec = _spec(
        path, tmp_path / "out", transformations=[{"type": "filter", "condition": "CAST('x' || id AS INT) > 0"}]
    )
    with pytest.raises(duckdb.ConversionException, match="Could not convert string"):
        LocalEngine(proof_min_bytes=None).run(validate_job_spec(spec))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
