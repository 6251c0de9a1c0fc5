"""
Polars' proof that a CSV input has no bad rows never disagrees with DuckDB's own check.

Each file is judged twice: by :func:`proven_records` and by the DuckDB check it lets the engine skip. Where the
proof holds, DuckDB finds no bad row, the same number of records, and the same good rows as the engine's fast
path. A Hypothesis test (``CSV_PROOF_EXAMPLES``, 300 derandomized examples by default) writes files of good and
bad values, broken quoting, stray carriage returns, NULs, U+FFFD, invalid bytes, short and long records.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from airflow_provider_enterprise.engines import csv_proof
from airflow_provider_enterprise.engines.csv_proof import ProofStopped, proven_records
from airflow_provider_enterprise.engines.duckdb_inputs import input_columns, proof_refuted, register, relation_name
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import JobCancelledError
from airflow_provider_enterprise.output.commit import BAD_ROWS_FILE
from airflow_provider_enterprise.spec import InputSpec, validate_job_spec
from support.bad_row_values import BAD, COLUMNS, GOOD
from support.env import MIXED, SCHEMA
from support.examples import derandomized

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("CSV_PROOF_EXAMPLES", "300"))

TYPES = {**COLUMNS, "ts": "timestamp", "last": "string"}
VALUES = {
    **GOOD,
    "timestamp": st.sampled_from(["2026-01-01 00:00:00", "2026-01-01T23:59:59.123456", "2024-02-29 12:00:00.5", ""]),
}
INVALID = {
    **BAD,
    "timestamp": st.sampled_from(
        ["2026-01-01 23:59:60", "2026-01-01 24:00:00", "2026-02-30 00:00:00", "2026-01-01", "2026-01-01 1:00:00"]
    ),
}
#: Text that DuckDB's reader and Polars' might split or read differently.
NOISE = st.sampled_from(
    [' "ab"', '"ab" ', '"a\nb"', "a\rb", "\x00", "\ufffd", '"unclosed', 'x"y', '"a"b', " ", '""', "\t", "\ufeff"]
)


def duckdb_check(path: Path, schema: dict[str, str], prove: bool):
    """Register ``path`` as the engine does, with or without the proof; the input and its good rows (read by the
    job's scan, after which :func:`proof_refuted` tells whether the proof held)."""
    source = InputSpec(path=str(path), format="csv", schema=schema)
    con = duckdb.connect()
    registered = register(
        con, "input", source, [str(path)], input_columns(con, "input", source, [str(path)]), prove=prove
    )
    good = con.execute(f'SELECT * FROM "{relation_name("input")}"').fetchall()
    return registered, good, proof_refuted(con, registered)


def assert_agree(path: Path, schema: dict[str, str]) -> int | None:
    """Where Polars proves ``path`` free of bad rows, DuckDB's check agrees, or DuckDB's reader refutes the proof
    during the job's scan (the engine then runs the job again with the check), or refuses the file either way."""
    source = InputSpec(path=str(path), format="csv", schema=schema)
    columns = input_columns(duckdb.connect(), "input", source, [str(path)])
    proven = proven_records(source, [str(path)], columns)
    if proven is None:
        return None
    try:
        checked, checked_good, _ = duckdb_check(path, schema, prove=False)
    except duckdb.Error:  # DuckDB's reader refuses the file: the engine's fast path reads it with the same reader
        with pytest.raises(duckdb.Error):
            duckdb_check(path, schema, prove=True)
        return proven
    registered, fast_good, refuted = duckdb_check(path, schema, prove=True)
    assert registered.records == proven
    if checked.bad_rows:
        assert refuted, f"proven, but DuckDB finds {checked.bad_rows} bad rows: {checked.first_bad_reason}"
        return None
    assert (checked.records, refuted) == (proven, None)
    assert fast_good == checked_good
    return proven


def test_a_clean_file_is_proven(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_bytes(b'id,amount,day,flag\n1,10.5,2026-01-01,true\n2,,2026-01-02,FALSE\n3,"1e3",,True\n')
    assert assert_agree(path, SCHEMA) == 3


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("every kind of bad row", MIXED),
        ("a short record", b"id,amount,day,flag\n1,1.0,2026-01-01\n"),
        ("an empty last field", b"id,amount,day,flag\n1,1.0,2026-01-01,\n"),
        ("an empty line", b"id,amount,day,flag\n1,1.0,2026-01-01,true\n\n"),
        ("a space before a quoted number", b'id,amount,day,flag\n1, "1.0",2026-01-01,true\n'),
        ("a NUL field", b"id,amount,day,flag\n1,1.0,2026-01-01,\x00\n"),
        ("a header of other width", b"id,amount,day\n1,1.0,2026-01-01,true\n"),
        ("no header line", b""),
    ],
)
def test_what_polars_cannot_judge_is_left_to_duckdb(tmp_path: Path, case: str, data: bytes) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    source = InputSpec(path=str(path), format="csv", schema=SCHEMA)
    assert proven_records(source, [str(path)], input_columns(duckdb.connect(), "input", source, [str(path)])) is None, (
        case
    )


def test_a_leap_second_is_not_proven(tmp_path: Path) -> None:
    # Polars reads 23:59:60 as the next day's midnight; DuckDB refuses it, so it is a bad row
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,at\n1,2026-01-01 23:59:60\n")
    source = InputSpec(path=str(path), format="csv", schema={"id": "int", "at": "timestamp"})
    assert proven_records(source, [str(path)], input_columns(duckdb.connect(), "input", source, [str(path)])) is None
    registered, _, _ = duckdb_check(path, {"id": "int", "at": "timestamp"}, prove=False)
    assert (registered.records, registered.bad_rows) == (1, 1)


@st.composite
def files(draw) -> bytes:
    """Records of good values with up to three defects: a noisy or invalid value, or a record's shape."""
    types = list(TYPES.values())
    rows = [[draw(VALUES[t]) for t in types] for _ in range(draw(st.integers(1, 6)))]
    shapes = ["ok"] * len(rows)
    for _ in range(draw(st.integers(0, 3))):
        row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(types) - 1))
        defect = draw(st.sampled_from(["noise", "invalid", "short", "long", "trailing", "bytes", "cr", "empty"]))
        if defect in ("noise", "invalid"):
            rows[row][column] = draw(NOISE if defect == "noise" else INVALID[types[column]])
        else:
            shapes[row] = defect
    lines = []
    for fields, shape in zip(rows, shapes, strict=True):
        fields = {"short": fields[:-1], "long": [*fields, "extra"], "trailing": [*fields, ""]}.get(shape, fields)
        line = ",".join(fields).encode()
        lines.append({"bytes": line + b"\xff", "cr": line + b"\r", "empty": b""}.get(shape, line))
    end = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join([",".join(TYPES).encode(), *lines]) + end


def test_generated_files_are_proven_only_when_duckdb_agrees(tmp_path_factory) -> None:
    proven: list[bool] = []

    @derandomized(EXAMPLES)
    @given(data=files())
    def agree(data: bytes) -> None:
        path = tmp_path_factory.mktemp("generated") / "in.csv"
        path.write_bytes(data)
        note(repr(data))
        proven.append(assert_agree(path, TYPES) is not None)

    agree()
    # the proof must hold for some files and fail for others to test anything
    print(f"{sum(proven)} of {len(proven)} proven")
    assert 0.1 < sum(proven) / len(proven) < 0.9, f"{sum(proven)} of {len(proven)} proven"


@st.composite
def clean_files(draw) -> tuple[bytes, int]:
    rows = draw(st.integers(0, 6))
    lines = [",".join([*(draw(VALUES[t]) for t in list(TYPES.values())[:-1]), f"row{n}"]) for n in range(rows)]
    return "\n".join([",".join(TYPES), *lines, ""]).encode(), rows


@derandomized(50)
@given(data=clean_files())
def test_files_of_good_values_are_proven(tmp_path_factory, data: tuple[bytes, int]) -> None:
    """The proof is not vacuous: a file of good values whose last field is never empty is proven."""
    path = tmp_path_factory.mktemp("clean") / "in.csv"
    path.write_bytes(data[0])
    assert assert_agree(path, TYPES) == data[1]


def test_a_stopped_job_stops_the_read(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,amount,day,flag\n" + "1,10.5,2026-01-01,true\n" * 1000)
    source = InputSpec(path=str(path), format="csv", schema=SCHEMA)
    columns = input_columns(duckdb.connect(), "input", source, [str(path)])
    with pytest.raises(ProofStopped):
        proven_records(source, [str(path)], columns, stopped=lambda: True)


def test_killing_the_engine_during_the_proof_commits_nothing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,amount,day,flag\n" + "1,10.5,2026-01-01,true\n" * 1000)
    spec = validate_job_spec(
        {
            "job_name": "killed",
            "input_path": str(path),
            "input_options": {"schema": SCHEMA},
            "output_path": str(tmp_path / "out"),
        }
    )
    engine = LocalEngine(proof_min_bytes=0)
    real = csv_proof.proven_records

    def kill_then_prove(*args):
        engine.kill()
        return real(*args)

    monkeypatch.setattr(csv_proof, "proven_records", kill_then_prove)
    with pytest.raises(JobCancelledError):
        engine.run(spec)
    assert not (tmp_path / "out").exists()


def test_a_refuted_proof_runs_the_job_again_with_the_check(tmp_path: Path) -> None:
    # Polars drops the carriage return after the quote; DuckDB's reader, reading lines that end in a line feed,
    # rejects the record, so the job runs again and the record is quarantined
    path = tmp_path / "in.csv"
    path.write_bytes(b'id,amount,day,flag\n1,10.5,2026-01-01,"true"\r\n2,1.0,2026-01-02,true\n')
    source = InputSpec(path=str(path), format="csv", schema=SCHEMA)
    assert proven_records(source, [str(path)], input_columns(duckdb.connect(), "input", source, [str(path)])) == 2
    spec = validate_job_spec(
        {
            "job_name": "refuted",
            "input_path": str(path),
            "input_options": {"schema": SCHEMA},
            "output_path": str(tmp_path / "out"),
        }
    )
    result = LocalEngine(proof_min_bytes=0).run(spec)
    assert (result.rows_in, result.rows_out, result.bad_rows) == (2, 1, 1)
    assert (tmp_path / "out" / BAD_ROWS_FILE).read_text().count("\n") == 1


def test_a_file_name_is_not_a_glob_pattern(tmp_path: Path) -> None:
    named = tmp_path / "in[1].csv"
    named.write_bytes(b"id,amount,day,flag\n1,abc,2026-01-01,true\n")
    (tmp_path / "in1.csv").write_bytes(b"id,amount,day,flag\n1,1.0,2026-01-01,true\n")  # what the pattern matches
    source = InputSpec(path=str(named), format="csv", schema=SCHEMA)
    assert proven_records(source, [str(named)], input_columns(duckdb.connect(), "input", source, [str(named)])) is None


@pytest.mark.parametrize(("min_bytes", "proves"), [(None, False), (0, True), (10**6, False)])
def test_small_inputs_are_left_to_duckdb(tmp_path: Path, monkeypatch, min_bytes: int | None, proves: bool) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,amount,day,flag\n" + "1,10.5,2026-01-01,true\n" * 1000)  # 23 kB
    spec = validate_job_spec(
        {
            "job_name": "small",
            "input_path": str(path),
            "input_options": {"schema": SCHEMA},
            "output_path": str(tmp_path / "out"),
        }
    )
    proven = []
    real = csv_proof.proven_records
    monkeypatch.setattr(csv_proof, "proven_records", lambda *args: proven.append(real(*args)) or proven[-1])
    assert LocalEngine(proof_min_bytes=min_bytes).run(spec).rows_in == 1000
    assert proven == ([1000] if proves else [])


def test_remote_files_are_not_worth_proving() -> None:
    assert not csv_proof.worth_proving(["s3://bucket/in.csv"], 0)
