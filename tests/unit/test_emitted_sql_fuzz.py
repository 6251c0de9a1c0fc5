"""
Fuzz the SQL we emit: for random allow-listed expressions, the text generated for each engine, parsed again in
that engine's dialect, is one statement whose every node is allowed.

Checking the tree the validator accepted would prove nothing: this checks what the engines will actually
read, after our rewrites (pin_semantics) and sqlglot's generator. Literals carry quotes, semicolons, comment
markers and unicode quotes, which must stay inside string literals.
"""

from __future__ import annotations

import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from airflow_provider_enterprise.expressions import ExpressionKind, check_tree, parse_expression, to_sql
from support.examples import derandomized

#: Node types our rewrites introduce in a dialect's text (quantile_cont for Spark's exact percentile).
#: Nodes the engines' pins emit beyond what users may write (expressions.pin_semantics): DuckDB's interpolating
#: quantile, Spark's NaN test (the interpolation from -inf of median and percentile).
EMITTED = {"duckdb": (exp.PercentileCont,), "spark": (exp.IsNan,)}

COLUMNS = st.sampled_from(["a", "b", "status", "select", "order", "x_1"]).map(lambda c: f"`{c}`")
NASTY_TEXT = st.lists(
    st.sampled_from(list("ab ;-*/'\"`\\\u2018\u2019\u201c\u201d\uff07%_") + ["--", "/*", "*/", "; DROP TABLE t"]),
    max_size=8,
).map("".join)


def _spark_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


LITERALS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: repr(round(v, 3))),
    NASTY_TEXT.map(_spark_string),
    st.sampled_from(["NULL", "TRUE", "FALSE"]),
)
TYPES = st.sampled_from(["INT", "BIGINT", "DOUBLE", "STRING", "DATE", "BOOLEAN", "DECIMAL(10, 2)"])
UNARY = st.sampled_from(["abs", "lower", "upper", "length", "trim", "floor", "ceil", "sqrt", "year", "to_date"])
BINARY_FUNCTIONS = st.sampled_from(["coalesce", "greatest", "least", "nullif", "concat", "round", "try_divide"])
OPERATORS = st.sampled_from(["+", "-", "*", "/", "%", "=", "<>", "<", ">=", "<=>", "AND", "OR", "||"])


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(UNARY, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(BINARY_FUNCTIONS, inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"CASE WHEN {t[0]} THEN {t[1]} ELSE {t[2]} END"),
        st.tuples(inner, TYPES).map(lambda t: f"CAST({t[0]} AS {t[1]})"),
        st.tuples(inner, TYPES).map(lambda t: f"try_cast({t[0]} AS {t[1]})"),
        inner.map(lambda e: f"({e} IS NULL)"),
        inner.map(lambda e: f"(NOT {e})"),
        st.tuples(inner, LITERALS, LITERALS).map(lambda t: f"({t[0]} IN ({t[1]}, {t[2]}))"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} BETWEEN {t[1]} AND {t[2]})"),
        st.tuples(inner, NASTY_TEXT).map(lambda t: f"({t[0]} LIKE {_spark_string(t[1])})"),
        st.tuples(inner, inner, inner).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
    )


SCALARS = st.recursive(st.one_of(COLUMNS, LITERALS), _compound, max_leaves=10)
AGGREGATES = st.tuples(
    st.sampled_from(["sum", "avg", "min", "max", "count", "stddev", "median", "count_if"]), SCALARS
).map(lambda t: f"{t[0]}({t[1]})") | SCALARS.map(lambda e: f"percentile({e}, 0.25)")


def assert_emitted_sql_is_allowed(text: str, kind: ExpressionKind) -> None:
    tree = parse_expression(text, kind)
    for dialect in ("duckdb", "spark"):
        sql = to_sql(tree, dialect)
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
        assert not any(t.token_type is TokenType.SEMICOLON for t in tokens), sql
        statements = sqlglot.parse(sql, read=dialect)
        assert len(statements) == 1 and statements[0] is not None, sql
        check_tree(statements[0], kind, sql, extra=EMITTED[dialect])


@derandomized(300)
@given(SCALARS)
def test_emitted_scalar_sql_reparses_to_allowed_nodes(text: str) -> None:
    assert_emitted_sql_is_allowed(text, ExpressionKind.SCALAR)


@derandomized(150)
@given(AGGREGATES)
def test_emitted_aggregate_sql_reparses_to_allowed_nodes(text: str) -> None:
    assert_emitted_sql_is_allowed(text, ExpressionKind.AGGREGATE)
