from __future__ import annotations

import pytest

from airflow_provider_enterprise.expressions import (
    ExpressionError,
    ExpressionKind,
    parse_expression,
    referenced_columns,
    to_sql,
)


@pytest.mark.parametrize(
    ("text", "duckdb_sql"),
    [
        ('status = "active"', "\"status\" = 'active'"),
        ("status = 'active' AND amount > 100", '"status" = \'active\' AND "amount" > 100'),
        ("a IN (1, 2, 3)", '"a" IN (1, 2, 3)'),
        ("a BETWEEN 1 AND 5", '"a" BETWEEN 1 AND 5'),
        ("name LIKE 'A%'", "\"name\" LIKE 'A%'"),
        ("x IS NULL OR y IS NOT NULL", '"x" IS NULL OR NOT "y" IS NULL'),
        (
            "CASE WHEN a > 1 THEN 'big' ELSE 'small' END = 'big'",
            "CASE WHEN \"a\" > 1 THEN 'big' ELSE 'small' END = 'big'",
        ),
        ("lower(trim(name)) = 'bob'", "LOWER(TRIM(\"name\")) = 'bob'"),
        ("coalesce(amount, 0) * 2 >= 10", 'COALESCE("amount", 0) * 2 >= 10'),
        ("s = 'a;b'", "\"s\" = 'a;b'"),
    ],
)
def test_allowed_expressions_transpile_to_duckdb(text: str, duckdb_sql: str) -> None:
    assert to_sql(parse_expression(text), "duckdb") == duckdb_sql


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("amount > 100; DROP TABLE jobs", "multiple statements"),
        ("reflect('java.lang.Runtime', 'getRuntime')", "function 'reflect'"),
        ("java_method('java.lang.System', 'exit', 1)", "not allowed"),
        ("read_csv('/etc/passwd')", "not allowed"),
        ("a IN (SELECT id FROM jobs)", "Subquery"),
        ("a > 1 -- trailing comment", "comments"),
        ("a /* smuggled */ > 1", "comments"),
        ("my_udf(a) > 1", "function 'my_udf'"),
        ("sum(amount) > 1", "aggregate functions belong in a groupby"),
        ("", "empty"),
        ("a >", "cannot parse"),
    ],
)
def test_disallowed_expressions_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_aggregates_are_allowed_in_aggregate_context() -> None:
    tree = parse_expression("sum(amount) / count(distinct customer_id)", ExpressionKind.AGGREGATE)
    # Spark's "/" yields NULL on a zero divisor; sqlglot keeps that meaning in DuckDB with NULLIF.
    assert to_sql(tree, "duckdb") == 'SUM("amount") / NULLIF(COUNT(DISTINCT "customer_id"), 0)'
    assert to_sql(parse_expression("count(*)", ExpressionKind.AGGREGATE), "duckdb") == "COUNT(*)"


def test_referenced_columns_in_order_of_first_use() -> None:
    assert referenced_columns(parse_expression("b > 1 AND a < b OR c IS NULL")) == ["b", "a", "c"]


def nested(depth: int, make) -> str:
    text = "a"
    for _ in range(depth):
        text = make(text)
    return text


NESTINGS = {
    "parentheses": lambda inner: f"({inner} > 0)",
    "function calls": lambda inner: f"abs({inner})",
    "CASE blocks": lambda inner: f"CASE WHEN b > 0 THEN {inner} ELSE 0 END",
}


@pytest.mark.parametrize("make", NESTINGS.values(), ids=NESTINGS.keys())
def test_nesting_up_to_the_limit_parses_and_transpiles_deeper_is_refused(make) -> None:
    from airflow_provider_enterprise.expressions import MAX_NESTING

    deepest = f"{nested(MAX_NESTING, make)} IS NOT NULL"

    def at_depth(frames: int):  # validated far down a deep stack (a task runner, pydantic) it still fits
        return at_depth(frames - 1) if frames else [to_sql(parse_expression(deepest), d) for d in ("duckdb", "spark")]

    assert all(at_depth(300))
    with pytest.raises(ExpressionError, match=f"nesting deeper than {MAX_NESTING} levels"):
        parse_expression(f"{nested(MAX_NESTING + 1, make)} IS NOT NULL")


@pytest.mark.parametrize("text", ["(" * 50 + "a > 1" + ")" * 50, "NOT " * 2000 + "a", "- " * 3000 + "a > 1"])
def test_nesting_that_would_exhaust_the_stack_is_an_expression_error(text: str) -> None:
    with pytest.raises(ExpressionError, match="nesting deeper than 24 levels"):
        parse_expression(text)


def test_an_unterminated_string_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="cannot parse expression"):
        parse_expression("status = 'active")
