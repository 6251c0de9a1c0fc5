"""Every transformation, input and output option on the DuckDB engine, against results worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import OutputExistsError, PlanningError
from airflow_provider_enterprise.spec import validate_job_spec

pytestmark = pytest.mark.integration

ORDERS = """id,customer,amount,status,day
1,alice,10.5,active,2026-01-01
2,bob,,pending,2026-01-02
3,alice,30,active,2026-01-03
4,carol,5,active,
5,bob,20,cancelled,2026-01-05
"""
CUSTOMERS = [{"customer": "alice", "country": "DE"}, {"customer": "bob", "country": "FR"}, {"name": "x"}]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text(ORDERS)
    with (tmp_path / "customers.jsonl").open("w") as out:
        for row in CUSTOMERS[:2] + [{"customer": "dave", "country": "US"}]:
            out.write(json.dumps(row) + "\n")
    duckdb.sql("SELECT 6 AS id, 'erin' AS customer, 7.5::DOUBLE AS amount, 'active' AS extra").write_parquet(
        str(tmp_path / "more.parquet")
    )
    return tmp_path


def run(data: Path, *transformations: dict, **fields) -> list[tuple]:
    spec = validate_job_spec(
        {
            "job_name": "vocabulary",
            "input_path": str(data / "orders.csv"),
            "inputs": {"customers": str(data / "customers.jsonl"), "more": str(data / "more.parquet")},
            "output_path": str(data / "out"),
            "processing_logic": {"transformations": list(transformations)},
            **fields,
        }
    )
    LocalEngine().run(spec)
    return duckdb.sql(f"SELECT * FROM read_parquet('{data}/out/*.parquet')").fetchall()


CASES = {
    "drop": ([{"type": "drop", "columns": ["customer", "amount", "status", "day"]}], [(1,), (2,), (3,), (4,), (5,)]),
    "rename": (
        [{"type": "rename", "mapping": {"id": "order_id"}}, {"type": "select", "columns": ["order_id"]}],
        [(1,), (2,), (3,), (4,), (5,)],
    ),
    "derive replaces in place, add_column appends": (
        [
            {"type": "derive", "column": "amount", "expression": "coalesce(amount, 0) * 2"},
            {"type": "add_column", "column": "big", "expression": "amount > 25"},
            {"type": "select", "columns": ["id", "amount", "big"]},
        ],
        [(1, 21.0, False), (2, 0.0, False), (3, 60.0, True), (4, 10.0, False), (5, 40.0, True)],
    ),
    "cast": (
        [
            {"type": "cast", "columns": {"amount": "decimal(6,1)", "id": "string"}},
            {"type": "select", "columns": ["id"]},
        ],
        [("1",), ("2",), ("3",), ("4",), ("5",)],
    ),
    "groupby with having and both shapes": (
        [
            {
                "type": "groupby",
                "columns": ["customer"],
                "aggregations": {"total": "sum(amount)", "amount": "max", "id": "count", "p50": "percentile(id, 0.5)"},
                "having": "total > 10",
            },
            {"type": "sort", "by": ["customer"]},
        ],
        [("alice", 40.5, 30.0, 2, 2.0), ("bob", 20.0, 20.0, 2, 3.5)],
    ),
    "global aggregate": (
        [{"type": "groupby", "aggregations": {"n": "count(*)", "s": "stddev_samp(id)", "m": "median(amount)"}}],
        [(5, 1.5811388300841898, 15.25)],
    ),
    "dedupe keeps the last by order": (
        [
            {"type": "dedupe", "keys": ["customer"], "keep": "last", "order_by": ["day"]},
            {"type": "select", "columns": ["customer", "id"]},
            {"type": "sort", "by": ["customer"]},
        ],
        [("alice", 3), ("bob", 5), ("carol", 4)],
    ),
    "dedupe whole rows": (
        [{"type": "select", "columns": ["customer"]}, {"type": "dedupe"}, {"type": "sort", "by": ["customer"]}],
        [("alice",), ("bob",), ("carol",)],
    ),
    "sort descending with nulls first, then limit": (
        [
            {"type": "select", "columns": ["id", "amount"]},
            {"type": "sort", "by": ["amount"], "descending": True, "nulls": "first"},
            {"type": "limit", "n": 3},
        ],
        [(2, None), (3, 30.0), (5, 20.0)],
    ),
    "inner join on a shared key": (
        [
            {"type": "join", "right": "customers", "on": ["customer"]},
            {"type": "select", "columns": ["id", "customer", "country"]},
            {"type": "sort", "by": ["id"]},
        ],
        [(1, "alice", "DE"), (2, "bob", "FR"), (3, "alice", "DE"), (5, "bob", "FR")],
    ),
    "full join keeps keys from both sides": (
        [
            {"type": "join", "right": "customers", "on": ["customer"], "how": "full"},
            {"type": "select", "columns": ["customer", "id"]},
            {"type": "sort", "by": ["customer", "id"]},
        ],
        [("alice", 1), ("alice", 3), ("bob", 2), ("bob", 5), ("carol", 4), ("dave", None)],
    ),
    "anti join with differently named keys": (
        [
            {"type": "rename", "mapping": {"customer": "who"}},
            {"type": "join", "right": "customers", "left_on": ["who"], "right_on": ["customer"], "how": "anti"},
            {"type": "select", "columns": ["id", "who"]},
        ],
        [(4, "carol")],
    ),
    "union by name across formats": (
        [
            {"type": "select", "columns": ["id", "customer"]},
            {"type": "union", "inputs": ["more"]},
            {"type": "sort", "by": ["id"], "descending": True},
            {"type": "limit", "n": 2},
        ],
        [(6, "erin", 7.5, "active"), (5, "bob", None, None)],
    ),
}


@pytest.mark.parametrize(("transformations", "expected"), CASES.values(), ids=CASES.keys())
def test_transformation(data: Path, transformations: list[dict], expected: list[tuple]) -> None:
    rows = run(data, *transformations)
    if not any(t["type"] == "sort" for t in transformations):
        rows = sorted(rows, key=repr)
    assert rows == expected


@pytest.mark.parametrize(
    ("transformation", "message"),
    [
        (
            {"type": "select", "columns": ["id", "amout"]},
            r"transformations\[0\] \(select\): column 'amout' does not exist",
        ),
        (
            {"type": "groupby", "columns": ["id"], "aggregations": {"s": "sum(customer)"}},
            r"transformations\[0\] \(groupby\): sum\(\) needs a number, but column 'customer' is string",
        ),
        ({"type": "filter", "condition": "customer > 3"}, r"compares string with bigint; cast one side first"),
        ({"type": "filter", "condition": "amount + 1"}, r"condition 'amount \+ 1' is double, not a boolean"),
        ({"type": "join", "right": "customers", "on": ["country"]}, r"left key 'country' does not exist"),
        (
            {"type": "union", "inputs": ["more"], "by_name": False},
            r"input 'more' has 4 columns and the rows so far have 5",
        ),
    ],
)
def test_plan_errors_name_the_transformation_and_column(data: Path, transformation: dict, message: str) -> None:
    with pytest.raises(PlanningError, match=message):
        run(data, transformation)
    assert not (data / "out").exists()


def test_csv_options_schema_and_partitioned_json_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("1;'x;y';2026-01-01\n2;'z';2026-01-02\n")
    (tmp_path / "in" / "_ignored").write_text("not data")
    spec = validate_job_spec(
        {
            "job_name": "options",
            "input_path": str(tmp_path / "in"),
            "input_format": "csv",
            "input_options": {
                "header": False,
                "delimiter": ";",
                "quote": "'",
                "schema": {"n": "int", "label": "string", "day": "date"},
            },
            "output_path": str(tmp_path / "out"),
            "output_format": "json",
            "partition_by": ["day"],
        }
    )
    result = LocalEngine().run(spec)
    assert result.rows_in == 2 and result.rows_out == 2
    assert sorted(result.output_files) == ["day=2026-01-01/part-0.json", "day=2026-01-02/part-0.json"]
    first = (tmp_path / "out" / "day=2026-01-01" / "part-0.json").read_text()
    assert json.loads(first) == {"n": 1, "label": "x;y"}


def test_partition_by_a_column_the_output_lacks_is_refused(data: Path) -> None:
    with pytest.raises(PlanningError, match=r"partition_by: column 'status' is not in the output \(columns: id\)"):
        run(data, {"type": "select", "columns": ["id"]}, partition_by=["status"])


def test_error_if_exists_refuses_before_reading(data: Path) -> None:
    run(data, {"type": "select", "columns": ["id"]})
    with pytest.raises(OutputExistsError, match="exists and mode is error_if_exists"):
        run(data, {"type": "select", "columns": ["id"]}, mode="error_if_exists")
    assert len(run(data, {"type": "select", "columns": ["id"]}, mode="overwrite")) == 5


def test_plan_errors_come_before_any_data_is_read(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b"\xff\x00 this is not CSV at all")  # reading it would fail differently
    spec = validate_job_spec(
        {
            "job_name": "early",
            "input_path": str(tmp_path / "in.csv"),
            "input_options": {"schema": {"a": "int"}},
            "output_path": str(tmp_path / "out"),
            "processing_logic": {"transformations": [{"type": "select", "columns": ["b"]}]},
        }
    )
    with pytest.raises(PlanningError, match=r"transformations\[0\] \(select\): column 'b' does not exist"):
        LocalEngine().run(spec)
