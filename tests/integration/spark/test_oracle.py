"""
An oracle independent of the plan: for every transformation type, expected outputs written by hand from the
semantics in docs/job-spec.md, checked on DuckDB and on Spark.

The equivalence property test compares the two engines with each other through the shared plan
(``compiler/plan.py``), so a mistake made by the plan passes on both; these cases would catch it. Column names and
the Python type of every value are compared too (a ``cast`` to double must give floats). ``mask`` has its own
oracle, Python's ``hmac``, in ``test_masking_equivalence.py``.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from airflow_provider_enterprise.compiler import duckdb as duckdb_backend
from airflow_provider_enterprise.compiler import spark as spark_backend
from airflow_provider_enterprise.compiler.plan import Column, build_plan
from airflow_provider_enterprise.spec import ProcessingLogic

pytestmark = pytest.mark.integration

COLUMNS = {
    "main": (Column("k", "string"), Column("g", "bigint"), Column("x", "double"), Column("y", "bigint")),
    "other": (Column("k", "string"), Column("w", "bigint")),
    "more": (Column("k", "string"), Column("g", "bigint"), Column("x", "double"), Column("y", "bigint")),
}
R1, R2, R3, R4, R5 = ("a", 1, 1.5, 2), ("b", 2, -0.5, -1), ("a", None, 4.0, 0), (None, 1, None, 3), ("c", 2, 2.25, 2)
TABLES = {
    "main": [R1, R2, R3, R4, R5],
    "other": [("a", 10), ("b", 20), ("d", 40), (None, 50)],
    "more": [("z", 9, 0.125, -5)],
}
MAIN = ["k", "g", "x", "y"]

#: (id, transformations, expected column names, expected rows, whether their order is part of the result)
CASES = [
    ("filter_numbers", [{"type": "filter", "condition": "x > 0"}], MAIN, [R1, R3, R5], False),
    ("filter_null_logic", [{"type": "filter", "condition": "k = 'a' OR g IS NULL"}], MAIN, [R1, R3], False),
    ("filter_between", [{"type": "filter", "condition": "y BETWEEN -1 AND 0"}], MAIN, [R2, R3], False),
    (
        "select",
        [{"type": "select", "columns": ["y", "k"]}],
        ["y", "k"],
        [(2, "a"), (-1, "b"), (0, "a"), (3, None), (2, "c")],
        False,
    ),
    ("select_one", [{"type": "select", "columns": ["x"]}], ["x"], [(1.5,), (-0.5,), (4.0,), (None,), (2.25,)], False),
    (
        "drop",
        [{"type": "drop", "columns": ["g"]}],
        ["k", "x", "y"],
        [(r[0], r[2], r[3]) for r in TABLES["main"]],
        False,
    ),
    ("drop_two", [{"type": "drop", "columns": ["k", "x"]}], ["g", "y"], [(r[1], r[3]) for r in TABLES["main"]], False),
    ("rename", [{"type": "rename", "mapping": {"g": "h"}}], ["k", "h", "x", "y"], TABLES["main"], False),
    (
        "rename_two",
        [{"type": "rename", "mapping": {"k": "key", "y": "n"}}],
        ["key", "g", "x", "n"],
        TABLES["main"],
        False,
    ),
    (
        "derive_arithmetic",
        [{"type": "derive", "column": "z", "expression": "x * 2 + y"}],
        [*MAIN, "z"],
        [(*R1, 5.0), (*R2, -2.0), (*R3, 8.0), (*R4, None), (*R5, 6.5)],
        False,
    ),
    (
        "derive_in_place",
        [{"type": "derive", "column": "k", "expression": "upper(k)"}],
        MAIN,
        [("A", *R1[1:]), ("B", *R2[1:]), ("A", *R3[1:]), R4, ("C", *R5[1:])],
        False,
    ),
    (
        "derive_case",
        [
            {
                "type": "add_column",
                "column": "sign",
                "expression": "CASE WHEN y > 0 THEN 'pos' WHEN y < 0 THEN 'neg' END",
            }
        ],
        [*MAIN, "sign"],
        [(*R1, "pos"), (*R2, "neg"), (*R3, None), (*R4, "pos"), (*R5, "pos")],
        False,
    ),
    (
        "cast_to_double",
        [{"type": "cast", "columns": {"y": "double"}}],
        MAIN,
        [(*r[:3], float(r[3])) for r in TABLES["main"]],
        False,
    ),
    (
        "cast_to_string",
        [{"type": "cast", "columns": {"g": "string"}}],
        MAIN,
        [(r[0], None if r[1] is None else str(r[1]), *r[2:]) for r in TABLES["main"]],
        False,
    ),
    (
        "groupby",
        [{"type": "groupby", "columns": ["k"], "aggregations": {"n": "count(*)", "s": "sum(x)"}}],
        ["k", "n", "s"],
        [("a", 2, 5.5), ("b", 1, -0.5), (None, 1, None), ("c", 1, 2.25)],
        False,
    ),
    (
        "groupby_everything",
        [
            {
                "type": "groupby",
                "columns": [],
                "aggregations": {"mx": "max(y)", "cd": "count(distinct k)", "a": "avg(x)"},
            }
        ],
        ["mx", "cd", "a"],
        [(3, 3, 1.8125)],
        False,
    ),
    (
        "groupby_count_column",
        [{"type": "groupby", "columns": ["g"], "aggregations": {"n": "count(x)", "y": "max"}}],
        ["g", "n", "y"],
        [(1, 1, 3), (2, 2, 2), (None, 1, 0)],
        False,
    ),
    (
        "groupby_having",
        [{"type": "groupby", "columns": ["k"], "aggregations": {"n": "count(*)"}, "having": "n > 1"}],
        ["k", "n"],
        [("a", 2)],
        False,
    ),
    (
        "dedupe_first",
        [{"type": "dedupe", "keys": ["k"], "keep": "first", "order_by": ["x"]}],
        MAIN,
        [R1, R2, R4, R5],
        False,
    ),
    (
        "dedupe_last",
        [{"type": "dedupe", "keys": ["k"], "keep": "last", "order_by": ["x"]}],
        MAIN,
        [R3, R2, R4, R5],
        False,
    ),
    ("dedupe_rows", [{"type": "select", "columns": ["g"]}, {"type": "dedupe"}], ["g"], [(1,), (2,), (None,)], False),
    ("sort", [{"type": "sort", "by": ["x"]}], MAIN, [R2, R1, R5, R3, R4], True),
    (
        "sort_descending_nulls_first",
        [{"type": "sort", "by": ["k", "y"], "descending": True, "nulls": "first"}],
        MAIN,
        [R4, R5, R2, R1, R3],
        True,
    ),
    ("limit", [{"type": "sort", "by": ["y"]}, {"type": "limit", "n": 2}], MAIN, [R2, R3], True),
    (
        "limit_top",
        [{"type": "sort", "by": ["x"], "descending": True}, {"type": "limit", "n": 1}],
        MAIN,
        [R3],
        True,
    ),
    (
        "join_inner",
        [{"type": "join", "right": "other", "on": ["k"], "how": "inner"}],
        [*MAIN, "w"],
        [(*R1, 10), (*R2, 20), (*R3, 10)],
        False,
    ),
    (
        "join_left",
        [{"type": "join", "right": "other", "on": ["k"], "how": "left"}],
        [*MAIN, "w"],
        [(*R1, 10), (*R2, 20), (*R3, 10), (*R4, None), (*R5, None)],
        False,
    ),
    (
        "join_full",
        [{"type": "join", "right": "other", "on": ["k"], "how": "full"}],
        [*MAIN, "w"],
        [
            (*R1, 10),
            (*R2, 20),
            (*R3, 10),
            (*R4, None),
            (*R5, None),
            ("d", None, None, None, 40),
            (None, None, None, None, 50),
        ],
        False,
    ),
    ("join_anti", [{"type": "join", "right": "other", "on": ["k"], "how": "anti"}], MAIN, [R4, R5], False),
    ("join_semi", [{"type": "join", "right": "other", "on": ["k"], "how": "semi"}], MAIN, [R1, R2, R3], False),
    (
        "union_by_name",
        [{"type": "union", "inputs": ["other"]}],
        [*MAIN, "w"],
        [(*r, None) for r in TABLES["main"]] + [(k, None, None, None, w) for k, w in TABLES["other"]],
        False,
    ),
    (
        "union_by_position",
        [{"type": "union", "inputs": ["more"], "by_name": False}],
        MAIN,
        [*TABLES["main"], *TABLES["more"]],
        False,
    ),
    (
        "pipeline",
        [
            {"type": "filter", "condition": "y >= 0"},
            {"type": "groupby", "columns": ["k"], "aggregations": {"total": "sum(y)"}},
            {"type": "sort", "by": ["total"], "descending": True},
        ],
        ["k", "total"],
        [(None, 3), ("a", 2), ("c", 2)],
        True,
    ),
]


ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "double": pa.float64()}


def run_duckdb(plan) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect()
    for name, rows in TABLES.items():
        schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in COLUMNS[name]])
        table = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema=schema)
        con.register(f"__input_{name}", table)
    result = con.execute(duckdb_backend.compile_plan(plan, {name: f"__input_{name}" for name in TABLES}))
    return [d[0] for d in result.description], [tuple(row) for row in result.fetchall()]


def run_spark(spark, plan) -> tuple[list[str], list[tuple]]:
    frames = {
        name: spark.createDataFrame(rows, ", ".join(f"{c.name} {c.type}" for c in COLUMNS[name]))
        for name, rows in TABLES.items()
    }
    df = spark_backend.compile_plan(plan, frames)
    return df.columns, [tuple(row) for row in df.collect()]


def typed(rows: list[tuple]) -> list[tuple]:
    """Each value with its type: 2 and 2.0 differ."""
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


def ordered(rows: list[tuple], keep_order: bool) -> list[tuple]:
    return rows if keep_order else sorted(rows, key=lambda row: [(v is None, str(v)) for v in row])


@pytest.mark.parametrize(("case", "transformations", "names", "rows", "keep_order"), CASES, ids=[c[0] for c in CASES])
def test_each_engine_gives_the_hand_written_result(spark, case, transformations, names, rows, keep_order) -> None:
    plan = build_plan(ProcessingLogic.model_validate({"transformations": transformations}), COLUMNS, "main")
    expected = ordered(typed(rows), keep_order)
    for engine, (got_names, got_rows) in (("duckdb", run_duckdb(plan)), ("spark", run_spark(spark, plan))):
        assert got_names == names, engine
        assert ordered(typed(got_rows), keep_order) == expected, engine


def test_every_transformation_type_has_two_cases_or_its_own_oracle() -> None:
    from airflow_provider_enterprise.spec.transformations import Transformation

    counted: dict[str, int] = {}
    for _, transformations, *_ in CASES:
        for kind in {t["type"] if t["type"] != "add_column" else "derive" for t in transformations}:
            counted[kind] = counted.get(kind, 0) + 1
    from typing import get_args

    union, *_ = get_args(Transformation)
    types = {get_args(model.model_fields["type"].annotation)[0] for model in get_args(union)}
    assert types - {"mask"} <= {k for k, n in counted.items() if n >= 2}, counted
