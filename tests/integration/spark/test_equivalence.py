"""
One spec, the same rows on DuckDB and on Spark: a Hypothesis property test over generated data and specs.

Data has NULLs in every column, empty inputs, duplicate rows and ties; specs are chains of 1-4 transformations
from the whole vocabulary. Both back ends compile the same plan; the rows are compared as multisets (in order
when the spec ends with a sort), floats with a relative tolerance. CI runs a fixed set of
``EQUIVALENCE_EXAMPLES`` examples (40 by default, derandomized); set the variable higher to search further.
"""

from __future__ import annotations

import math
import os

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st

from airflow_provider_enterprise.compiler import duckdb as duckdb_backend
from airflow_provider_enterprise.compiler import spark as spark_backend
from airflow_provider_enterprise.compiler.plan import Column, PlanError, build_plan
from airflow_provider_enterprise.spec import ProcessingLogic
from support.examples import derandomized

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("EQUIVALENCE_EXAMPLES", "40"))

MAIN = (Column("k", "string"), Column("g", "bigint"), Column("x", "double"), Column("y", "bigint"))
OTHER = (Column("k", "string"), Column("w", "bigint"))
ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "double": pa.float64()}

CONDITIONS = [
    "x > 0",
    "y BETWEEN -2 AND 2",
    "k = 'a' OR g IS NULL",
    "NOT (k IN ('a', 'b'))",
    "x / y > 1",
    "coalesce(g, 0) <> y",
    "k LIKE 'a%'",
    "y % 2 = 0",
    'k = "b" AND x IS NOT NULL',
]
DERIVATIONS = [
    ("z", "x * 2 + y"),
    ("z", "x / y"),
    ("k", "upper(k)"),
    ("z", "CASE WHEN y > 0 THEN 'pos' WHEN y < 0 THEN 'neg' END"),
    ("z", "coalesce(k, 'none') || '-' || cast(y as string)"),
    ("g", "abs(g)"),
    ("z", "greatest(y, g)"),
    ("z", "if(x IS NULL, -1, floor(x))"),
]
AGGREGATIONS = {
    "n": "count(*)",
    "s": "sum(x)",
    "a": "avg(y)",
    "mn": "min(k)",
    "mx": "max(x)",
    "sd": "stddev(x)",
    "cd": "count(distinct k)",
    "p": "percentile(y, 0.5)",
    "md": "median(x)",
}

keys = st.sampled_from(["a", "b", "c", None])
main_rows = st.lists(
    st.tuples(
        keys,
        st.one_of(st.none(), st.integers(-3, 3)),
        st.one_of(st.none(), st.integers(-2000, 2000).map(lambda v: v / 8)),  # exact in binary: no rounding noise
        st.integers(-5, 5),
    ),
    max_size=12,
)
other_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "d", None]), st.integers(0, 9)), max_size=5)

single = st.one_of(
    st.builds(lambda c: [{"type": "filter", "condition": c}], st.sampled_from(CONDITIONS)),
    st.builds(lambda d: [{"type": "derive", "column": d[0], "expression": d[1]}], st.sampled_from(DERIVATIONS)),
    st.just([{"type": "drop", "columns": ["g"]}]),
    st.just([{"type": "rename", "mapping": {"g": "h"}}]),
    st.just([{"type": "cast", "columns": {"y": "double", "g": "string"}}]),
    st.builds(
        lambda by, names: [{"type": "groupby", "columns": by, "aggregations": {n: AGGREGATIONS[n] for n in names}}],
        st.sampled_from([["k"], ["g"], ["k", "g"], []]),
        st.lists(st.sampled_from(sorted(AGGREGATIONS)), min_size=1, max_size=4, unique=True),
    ),
    st.builds(
        lambda keep: [{"type": "dedupe", "keys": ["k"], "keep": keep, "order_by": ["x"]}],
        st.sampled_from(["first", "last"]),
    ),
    st.just([{"type": "select", "columns": ["k", "y"]}, {"type": "dedupe"}]),
    st.builds(
        lambda by, desc, nulls, n: (
            [{"type": "sort", "by": by, "descending": desc, "nulls": nulls}]
            + ([] if n is None else [{"type": "limit", "n": n}])
        ),
        st.sampled_from([["x"], ["k", "y"], ["g"]]),
        st.booleans(),
        st.sampled_from(["first", "last"]),
        st.one_of(st.none(), st.integers(0, 5)),
    ),
    st.builds(
        lambda how: [{"type": "join", "right": "other", "on": ["k"], "how": how}],
        st.sampled_from(["inner", "left", "right", "full", "semi", "anti"]),
    ),
    st.just([{"type": "union", "inputs": ["other"], "by_name": True}]),
)
specs = st.lists(single, min_size=1, max_size=3).map(lambda parts: [t for part in parts for t in part][:4])


def _table(columns: tuple[Column, ...], rows: list[tuple]) -> pa.Table:
    schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in columns])
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)


def run_duckdb(plan, tables: dict[str, pa.Table]) -> list[tuple]:
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(f"__input_{name}", table)
    sql = duckdb_backend.compile_plan(plan, {name: f"__input_{name}" for name in tables})
    return [tuple(row) for row in con.execute(sql).fetchall()]


def run_spark(spark, plan, tables: dict[str, list[tuple]], columns: dict[str, tuple[Column, ...]]) -> list[tuple]:
    frames = {
        name: spark.createDataFrame(rows, ", ".join(f"{c.name} {c.type}" for c in columns[name]))
        for name, rows in tables.items()
    }
    return [tuple(row) for row in spark_backend.compile_plan(plan, frames).collect()]


def _outcome(run, *args) -> tuple[list[tuple] | None, Exception | None]:
    try:
        return run(*args), None
    except Exception as error:  # noqa: BLE001 - compared across engines
        return None, error


def _normalized(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6)
    return value


def _key(row: tuple) -> tuple:
    return tuple((v is None, str(type(v)), _normalized(v) if v is not None else 0) for v in row)


def assert_same_rows(left: list[tuple], right: list[tuple], ordered: bool) -> None:
    assert len(left) == len(right), f"{len(left)} rows on DuckDB, {len(right)} on Spark"
    if not ordered:
        left, right = sorted(left, key=_key), sorted(right, key=_key)
    for a, b in zip(left, right, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (a, b)
            else:
                assert x == y, (a, b)


@derandomized(EXAMPLES, HealthCheck.filter_too_much)
@given(rows=main_rows, other=other_rows, transformations=specs)
def test_duckdb_and_spark_give_the_same_rows(spark, rows, other, transformations) -> None:
    try:
        logic = ProcessingLogic.model_validate({"transformations": transformations})
        columns = {"main": MAIN, "other": OTHER}
        plan = build_plan(logic, columns, "main")
    except (PlanError, ValueError):
        event("refused by the plan")  # a chain that does not fit its columns (e.g. a sort on a dropped column)
        return
    event("compared")
    tables = {"main": rows, "other": other}
    arrow = {name: _table(columns[name], data) for name, data in tables.items()}
    expected, duckdb_error = _outcome(run_duckdb, plan, arrow)
    actual, spark_error = _outcome(run_spark, spark, plan, tables, columns)
    if duckdb_error or spark_error:  # a run-time error (an ANSI overflow, a bad cast) must happen on both
        assert duckdb_error and spark_error, f"DuckDB: {duckdb_error!r}; Spark: {spark_error!r}"
        event("refused by both engines at run time")
        return
    last = [t["type"] for t in transformations if t["type"] != "limit"][-1:]
    assert_same_rows(expected, actual, ordered=last == ["sort"])


def test_approximate_percentiles_agree_within_their_rank_error(spark) -> None:
    """The engines use different algorithms (t-digest, Greenwald-Khanna): equal only within rank error."""
    import bisect
    import random

    values = sorted(float(v) for v in random.Random(3).sample(range(1_000_000), 20_000))
    columns = {"main": (Column("x", "double"),)}
    aggregations = {"approx": "percentile_approx(x, 0.9)", "exact": "percentile(x, 0.9)"}
    logic = ProcessingLogic.model_validate({"transformations": [{"type": "groupby", "aggregations": aggregations}]})
    plan = build_plan(logic, columns, "main")
    rows = [(v,) for v in values]
    ((duck_approx, duck_exact),) = run_duckdb(plan, {"main": _table(columns["main"], rows)})
    ((spark_approx, spark_exact),) = run_spark(spark, plan, {"main": rows}, columns)
    assert duck_exact == spark_exact  # exact and interpolated on both
    tolerance = 0.01 * len(values)  # 1% of the rows
    target = bisect.bisect_left(values, duck_exact)
    for approx in (duck_approx, spark_approx):
        assert abs(bisect.bisect_left(values, approx) - target) <= tolerance
