"""
One spec, the same rows on DuckDB and on Spark: a Hypothesis property test over generated data and specs.

Inputs are never empty and carry every type a job declares (strings with unicode and the empty string, integers,
doubles with NaN, infinities and negative zero, decimals at their limits, timestamps around daylight-saving
changes, booleans), with NULLs in every nullable column, duplicates and ties. Specs are chains of 1-3
transformations from the whole vocabulary. Both back ends compile the same plan; the rows are compared as
multisets (in order when the spec ends with a sort), floats with a relative tolerance, and a run-time error must
be the same kind of error on both. Each transformation type leads ``EQUIVALENCE_EXAMPLES`` / 12 of CI's fixed,
derandomized examples (34 by default; plans the spec refuses do not count), which must give
``MIN_NON_EMPTY_PER_TYPE`` comparisons of non-empty results (half: at least 204 in all).
``bench/explore_equivalence.py`` runs it with random seeds and far more examples. ``test_oracle.py`` checks the
plan itself against hand-written results.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, note
from hypothesis import strategies as st

from airflow_provider_enterprise.compiler import duckdb as duckdb_backend
from airflow_provider_enterprise.compiler import spark as spark_backend
from airflow_provider_enterprise.compiler.plan import Column, PlanError, build_plan, spark_type_name
from airflow_provider_enterprise.spec import ProcessingLogic
from support.examples import derandomized

pytestmark = pytest.mark.integration

#: The transformation types the generated specs use (``mask`` has tests of its own).
TYPES = ("filter", "derive", "drop", "rename", "cast", "groupby", "dedupe", "select", "sort", "limit", "join", "union")
EXAMPLES_PER_TYPE = int(os.environ.get("EQUIVALENCE_EXAMPLES", "408")) // len(TYPES)
#: Comparisons of non-empty results each type's examples must give: half, 17 of 34 (204 in all).
MIN_NON_EMPTY_PER_TYPE = (EXAMPLES_PER_TYPE + 1) // 2

MAIN = (
    Column("k", "string"),
    Column("g", "bigint"),
    Column("x", "double"),
    Column("y", "bigint"),
    Column("d", "decimal(10, 2)"),
    Column("t", "timestamp"),
    Column("b", "boolean"),
)
OTHER = (Column("k", "string"), Column("w", "bigint"))
ARROW_TYPES = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "decimal(10, 2)": pa.decimal128(10, 2),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
}

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
    "x = 0",
    "d > 0",
    "d IS NULL OR d < -1",
    "t >= cast('2026-03-29 02:00:00' as timestamp)",
    "hour(t) = 2",
    "b",
    "NOT b OR b IS NULL",
    "length(k) > 1",
    "k = ''",
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
    ("z", "d * 2"),
    ("z", "round(d, 1)"),
    ("z", "year(t) * 100 + month(t)"),
    ("z", "date_trunc('hour', t)"),
    ("z", "coalesce(b, false)"),
    ("z", "length(k)"),
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
    "sdec": "sum(d)",
    "adec": "avg(d)",
    "tmax": "max(t)",
    "tmin": "min(t)",
    "ci": "count_if(b)",
}

STRINGS = ["a", "b", "é", "日本", "", None]
SPECIAL_DOUBLES = [-0.0, 0.0, float("nan"), float("inf"), float("-inf")]
EDGE_DECIMALS = [Decimal("99999999.99"), Decimal("-99999999.99"), Decimal("0.01"), Decimal("-0.01"), Decimal("0.00")]
#: wall-clock times around Europe's 2026 daylight-saving changes (2:30 on 29 March does not exist there, 2:30 on
#: 25 October happens twice), a leap day and the epoch's eve: a timestamp has no time zone on every engine
TIMES = [
    datetime(2026, 3, 29, 1, 59, 59),
    datetime(2026, 3, 29, 2, 30),
    datetime(2026, 10, 25, 2, 30),
    datetime(2026, 10, 25, 3, 0, 0, 500000),
    datetime(2024, 2, 29, 23, 59, 59, 999999),
    datetime(1969, 12, 31, 23, 59, 59),
]


def cents(value: int) -> Decimal:
    return Decimal(value) / 100


main_rows = st.lists(
    st.tuples(
        st.sampled_from(STRINGS),
        st.one_of(st.none(), st.integers(-3, 3)),
        st.one_of(
            st.none(),
            st.integers(-2000, 2000).map(lambda v: v / 8),  # exact in binary: no rounding noise
            st.sampled_from(SPECIAL_DOUBLES),
        ),
        st.integers(-5, 5),
        st.one_of(
            st.none(), st.sampled_from(EDGE_DECIMALS), st.integers(-(10**6), 10**6).map(lambda v: Decimal(v) / 100)
        ),
        st.one_of(st.none(), st.sampled_from(TIMES)),
        st.one_of(st.none(), st.booleans()),
    ),
    min_size=3,
    max_size=12,
)
other_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "d", "é", None]), st.integers(0, 9)), min_size=1, max_size=5)


def _sorts(limits):
    return st.builds(
        lambda by, desc, nulls, n: (
            [{"type": "sort", "by": by, "descending": desc, "nulls": nulls}]
            + ([] if n is None else [{"type": "limit", "n": n}])
        ),
        st.sampled_from([["x"], ["k", "y"], ["g"], ["t"], ["d"], ["b", "x"]]),
        st.booleans(),
        st.sampled_from(["first", "last"]),
        limits,
    )


#: Specs that start with each transformation type (a ``limit`` follows its ``sort``).
LEADS = {
    "filter": st.builds(lambda c: [{"type": "filter", "condition": c}], st.sampled_from(CONDITIONS)),
    "derive": st.builds(
        lambda d: [{"type": "derive", "column": d[0], "expression": d[1]}], st.sampled_from(DERIVATIONS)
    ),
    "drop": st.builds(lambda c: [{"type": "drop", "columns": c}], st.sampled_from([["g"], ["t", "b"], ["d"]])),
    "rename": st.builds(
        lambda m: [{"type": "rename", "mapping": m}], st.sampled_from([{"g": "h"}, {"t": "ts", "b": "flag"}])
    ),
    "cast": st.builds(
        lambda c: [{"type": "cast", "columns": c}],
        st.sampled_from([{"y": "double", "g": "string"}, {"d": "double"}, {"t": "date"}, {"b": "string"}]),
    ),
    "groupby": st.builds(
        lambda by, names: [{"type": "groupby", "columns": by, "aggregations": {n: AGGREGATIONS[n] for n in names}}],
        st.sampled_from([["k"], ["g"], ["k", "g"], [], ["b"], ["t"], ["x"], ["d"]]),
        st.lists(st.sampled_from(sorted(AGGREGATIONS)), min_size=1, max_size=4, unique=True),
    ),
    "dedupe": st.one_of(
        st.builds(
            lambda keys, keep, order: [{"type": "dedupe", "keys": keys, "keep": keep, "order_by": order}],
            st.sampled_from([["k"], ["b"], ["t"]]),
            st.sampled_from(["first", "last"]),
            st.sampled_from([["x"], ["d"], ["t", "y"]]),
        ),
        st.just([{"type": "select", "columns": ["k", "y"]}, {"type": "dedupe"}]),
    ),
    "select": st.builds(
        lambda c: [{"type": "select", "columns": c}], st.sampled_from([["x", "k"], ["t", "d", "b"], ["k", "x", "y"]])
    ),
    "sort": _sorts(st.none()),
    "limit": _sorts(st.integers(0, 5)),  # 0 too: no rows, on every engine
    "join": st.builds(
        lambda how: [{"type": "join", "right": "other", "on": ["k"], "how": how}],
        st.sampled_from(["inner", "left", "right", "full", "semi", "anti"]),
    ),
    "union": st.just([{"type": "union", "inputs": ["other"], "by_name": True}]),
}
single = st.one_of(*LEADS.values())
specs = st.lists(single, min_size=1, max_size=3).map(lambda parts: [t for part in parts for t in part][:4])


def specs_led_by(kind: str):
    """Chains of 1-3 transformations whose first is of type ``kind``."""
    return st.tuples(LEADS[kind], st.lists(single, max_size=2)).map(
        lambda parts: [*parts[0], *(t for part in parts[1] for t in part)][:4]
    )


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
        name: spark.createDataFrame(rows, ", ".join(f"{c.name} {spark_type_name(c.type)}" for c in columns[name]))
        for name, rows in tables.items()
    }
    return [tuple(row) for row in spark_backend.compile_plan(plan, frames).collect()]


def _outcome(run, *args) -> tuple[list[tuple] | None, Exception | None]:
    try:
        return run(*args), None
    except Exception as error:  # noqa: BLE001 - compared across engines
        return None, error


#: What a run-time error is about, by the words each engine's message uses for it.
ERROR_KINDS = {
    "overflow": ("overflow", "out of range", "outofrange", "cannot be represented"),
    "cast": ("could not convert", "cast_invalid_input", "conversion error", "invalid input syntax", "cannot be cast"),
    "division": ("division by zero", "divide_by_zero"),
}


def error_kind(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".lower()
    for kind, words in ERROR_KINDS.items():
        if any(word in text for word in words):
            return kind
    return f"unknown ({type(error).__name__}: {str(error).splitlines()[0][:160]})"


def _normalized(value: object) -> object:
    if isinstance(value, float):
        # -0.0 and 0.0 are one value (equal on both engines); a group key may come out as either
        return "nan" if math.isnan(value) else round(value, 6) + 0.0
    return value


def _key(row: tuple) -> tuple:
    return tuple((v is None, str(type(v)), str(_normalized(v)) if v is not None else "") for v in row)


def _same(x: object, y: object) -> bool:
    if isinstance(x, float) or isinstance(y, float):
        if x is None or y is None:
            return False
        x, y = float(x), float(y)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return x == y


def assert_same_rows(left: list[tuple], right: list[tuple], ordered: bool) -> None:
    assert len(left) == len(right), f"{len(left)} rows on DuckDB, {len(right)} on Spark"
    if not ordered:
        left, right = sorted(left, key=_key), sorted(right, key=_key)
    for a, b in zip(left, right, strict=True):
        assert len(a) == len(b)
        assert all(_same(x, y) for x, y in zip(a, b, strict=True)), (a, b)


def compare_engines(spark, transformations: list[dict], rows: list[tuple], other: list[tuple]) -> str:
    """
    Run ``transformations`` over ``rows`` (and ``other``) on both engines; raise AssertionError when they differ.

    :return: what was compared: ``refused`` (the plan refuses the chain), ``error: <kind>`` (the same kind of error
        on both), ``empty`` or ``non-empty`` (the same rows).
    """
    try:
        logic = ProcessingLogic.model_validate({"transformations": transformations})
        columns = {"main": MAIN, "other": OTHER}
        plan = build_plan(logic, columns, "main")
    except (PlanError, ValueError):
        return "refused"  # a chain that does not fit its columns (a sort on a dropped column)
    tables = {"main": rows, "other": other}
    arrow = {name: _table(columns[name], data) for name, data in tables.items()}
    expected, duckdb_error = _outcome(run_duckdb, plan, arrow)
    actual, spark_error = _outcome(run_spark, spark, plan, tables, columns)
    if duckdb_error or spark_error:  # a run-time error (an ANSI overflow, a bad cast) must happen on both
        assert duckdb_error and spark_error, f"DuckDB: {duckdb_error!r}; Spark: {spark_error!r}"
        assert error_kind(duckdb_error) == error_kind(spark_error), f"DuckDB: {duckdb_error}; Spark: {spark_error}"
        return f"error: {error_kind(duckdb_error)}"
    last = [t["type"] for t in transformations if t["type"] != "limit"][-1:]
    assert_same_rows(expected, actual, ordered=last == ["sort"])
    return "non-empty" if expected else "empty"


@pytest.mark.parametrize("kind", TYPES)
def test_duckdb_and_spark_give_the_same_rows(spark, kind: str) -> None:
    counts: Counter[str] = Counter()

    @derandomized(EXAMPLES_PER_TYPE, HealthCheck.filter_too_much)
    @given(rows=main_rows, other=other_rows, transformations=specs_led_by(kind))
    def same_rows(rows, other, transformations) -> None:
        note(f"transformations={transformations!r}\nmain={rows!r}\nother={other!r}")
        compared = compare_engines(spark, transformations, rows, other)
        counts[compared] += 1
        assume(compared != "refused")  # a chain the plan refuses compares nothing: Hypothesis draws another

    same_rows()
    assert counts["non-empty"] >= MIN_NON_EMPTY_PER_TYPE, f"{kind}: {dict(counts)}"


#: Examples the property test (or ``bench/explore_equivalence.py``) once found failing, kept so they stay fixed.
REGRESSIONS = Path(__file__).with_name("equivalence_regressions.json")


def encode(value: object) -> object:
    """A value of the generated rows as JSON (decimals, timestamps and special doubles tagged)."""
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"timestamp": value.isoformat()}
    if isinstance(value, float) and (not math.isfinite(value) or (value == 0 and math.copysign(1.0, value) < 0)):
        return {"double": repr(value)}  # nan, inf, -inf, -0.0
    return value


def decode(value: object) -> object:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return {"decimal": Decimal, "timestamp": datetime.fromisoformat, "double": float}[tag](text)
    return value


def pinned() -> list[dict]:
    return json.loads(REGRESSIONS.read_text()) if REGRESSIONS.is_file() else []


@pytest.mark.parametrize("case", pinned(), ids=lambda case: case["found"])
def test_examples_found_once_stay_equal(spark, case: dict) -> None:
    rows = [tuple(map(decode, row)) for row in case["main"]]
    other = [tuple(map(decode, row)) for row in case["other"]]
    assert compare_engines(spark, case["transformations"], rows, other) == case["compared"]


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
