"""
Could a typed CSV reader be the proof that a clean file has no bad rows? Which texts DuckDB's, Polars' and Arrow's
typed readers accept that the bad-row rules reject (and the reverse), type by type.

    .venv/bin/python bench/typed_readers.py --json docs/bench/typed_readers.json

A reader whose acceptance were exactly the rules' (``docs/job-spec.md#bad-rows``) would make the one scan as
fast as a hand-written query: its failure would be the proof (issue #31). Each text below is read as a one-column
CSV file by each reader with the column's type declared and every reader option that narrows it (DuckDB: no
auto-detection, strict mode, ``date_format``/``timestamp_format``; Polars: a schema; Arrow: ``column_types``), and
judged by the rules' own expression (pattern and ``TRY_CAST``, :mod:`airflow_provider_enterprise.compiler.bad_rows`).
A reader *accepts* a text when it returns a non-null value, and refuses it with a conversion error. Prints, per
reader and type, the texts it accepts that the rules reject (with the value it made of them), the texts the rules
accept that it refuses, and the texts both accept with different values. Not a timed benchmark.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: Good spellings and near misses of every type with a pattern; each is read under every type.
TEXTS = (
    *("5", "+5", "-5", "007", "-0", " 5", "5 ", "5\t", "1_000", "1e3", "1E5", "1e0", "1.0", "1.", "0x10", "١"),
    *("00000000001", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "+-1"),
    *("12.50", "12.5", ".5", "12.", "1.234", "-.05", ".", "5.5e-3", "9999999999999.99", "99999999999999.99"),
    *("inf", "nan", "NaN", "true", "TRUE", "t", "1", "yes"),
    *("2026-12-06", "2026-1-5", "2026/12/06", "20261206", "2026-02-30", "0001-01-01", "12026-01-01"),
    *("2026-12-06 10:00:00", "2026-12-06T10:00:00", "2026-12-06 10:00:00.123456", "2026-12-06 10:00"),
    *("2026-12-06 10:00:00.1234567", "2026-12-06 10:00:00Z", "2026-12-06 24:00:00", "2026-12-06 23:59:60"),
)
TYPES = ("int", "bigint", "double", "decimal(15,2)", "boolean", "date", "timestamp")


def _csv(text: str) -> bytes:
    return f"x\n{text}\n".encode()


def rules() -> Callable[[str, str], Any]:
    """The rules' verdict and value of a text: the value, or None when the rules call it bad."""
    import duckdb

    from airflow_provider_enterprise.compiler import bad_rows
    from airflow_provider_enterprise.compiler.plan import Column

    con = duckdb.connect()

    def judge(type_name: str, text: str) -> Any:
        column = (Column("x", type_name),)
        reason = bad_rows.reason_expression(column).sql(dialect="duckdb")
        value = bad_rows.typed_projection(column)[0].sql(dialect="duckdb")
        ((bad,),) = con.execute(f"SELECT {reason} FROM (SELECT $text AS x)", {"text": text}).fetchall()
        if bad is not None:
            return None
        return con.execute(f"SELECT {value} FROM (SELECT $text AS x)", {"text": text}).fetchone()[0]

    return judge


def duckdb_reader() -> Callable[[str, str], Any]:
    import duckdb

    from airflow_provider_enterprise.compiler.plan import data_type

    con = duckdb.connect()
    path = Path(tempfile.mkdtemp(prefix="typed-readers-")) / "text.csv"

    def read(type_name: str, text: str) -> Any:
        path.write_bytes(_csv(text))
        formats = {"date_format": "%Y-%m-%d", "timestamp_format": "%Y-%m-%d %H:%M:%S"}
        sql_type = data_type(type_name).sql(dialect="duckdb")
        relation = con.read_csv(
            str(path), header=True, columns={"x": sql_type}, auto_detect=False, strict_mode=True, **formats
        )
        try:
            return relation.fetchall()[0][0]
        except duckdb.ConversionException:  # the reader's refusal
            return None

    return read


def polars_reader() -> Callable[[str, str], Any]:
    import polars as pl

    dtypes = {
        "int": pl.Int32,
        "bigint": pl.Int64,
        "double": pl.Float64,
        "decimal(15,2)": pl.Decimal(15, 2),
        "boolean": pl.Boolean,
        "date": pl.Date,
        "timestamp": pl.Datetime("us"),
    }

    def read(type_name: str, text: str) -> Any:
        try:
            return pl.read_csv(io.BytesIO(_csv(text)), schema={"x": dtypes[type_name]}).item()
        except pl.exceptions.ComputeError:  # the reader's refusal
            return None

    return read


def arrow_reader() -> Callable[[str, str], Any]:
    import pyarrow as pa
    import pyarrow.csv as csv

    types = {
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "decimal(15,2)": pa.decimal128(15, 2),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }

    def read(type_name: str, text: str) -> Any:
        options = csv.ConvertOptions(column_types={"x": types[type_name]})
        try:
            return csv.read_csv(io.BytesIO(_csv(text)), convert_options=options).column(0)[0].as_py()
        except pa.ArrowInvalid:  # the reader's refusal
            return None

    return read


READERS = {"duckdb": duckdb_reader, "polars": polars_reader, "arrow": arrow_reader}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return str(a) == str(b)


def compare(readers: dict[str, Callable[[str, str], Any]]) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """Per reader and type: texts only the reader accepts (with its value), texts only the rules accept, and texts
    both accept with different values."""
    judge = rules()
    found: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for name, read in readers.items():
        for type_name in TYPES:
            diff: dict[str, list[Any]] = {"reader_only": [], "rules_only": [], "other_value": []}
            for text in TEXTS:
                expected = judge(type_name, text)
                value = read(type_name, text)
                accepted = value is not None
                if accepted and expected is None:
                    diff["reader_only"].append([text, str(value)])
                elif expected is not None and not accepted:
                    diff["rules_only"].append(text)
                elif accepted and not _same(value, expected):
                    diff["other_value"].append([text, str(value), str(expected)])
            found.setdefault(name, {})[type_name] = diff
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", nargs="+", choices=sorted(READERS), default=list(READERS))
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    found = compare({name: READERS[name]() for name in args.readers})
    exact = []
    for name, per_type in found.items():
        print(f"\n{name}")
        for type_name, diff in per_type.items():
            if not any(diff.values()):
                exact.append(f"{name}:{type_name}")
            only = ", ".join(f"{t!r}->{v}" for t, v in diff["reader_only"]) or "-"
            print(f"  {type_name:14s} accepts, rules reject: {only}")
            if diff["rules_only"]:
                print(f"  {'':14s} rejects, rules accept: {', '.join(map(repr, diff['rules_only']))}")
            if diff["other_value"]:
                other = ", ".join(f"{t!r}->{v} (rules {e})" for t, v, e in diff["other_value"])
                print(f"  {'':14s} other value: {other}")
    print(f"\nreader and type pairs whose acceptance equals the rules' on these texts: {', '.join(exact) or 'none'}")
    result = {"texts": list(TEXTS), "readers": found, "exact": exact}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
