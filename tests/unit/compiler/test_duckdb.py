from __future__ import annotations

from airflow_provider_enterprise.compiler.duckdb import compile_plan
from airflow_provider_enterprise.compiler.plan import Column, build_plan
from airflow_provider_enterprise.spec import ProcessingLogic

COLUMNS = (Column("status", "string"), Column("category", "string"), Column("amount", "double"))


def compile_logic(*transformations: dict, columns: tuple[Column, ...] = COLUMNS) -> str:
    logic = ProcessingLogic.model_validate({"transformations": list(transformations)})
    return compile_plan(build_plan(logic, {"input": columns}, "input"), {"input": "source"})


def test_empty_logic_selects_the_source() -> None:
    assert compile_logic() == 'SELECT * FROM "source"'


def test_each_transformation_is_one_cte_over_the_previous() -> None:
    sql = compile_logic(
        {"type": "filter", "condition": 'status = "active"'},
        {"type": "select", "columns": ["category", "amount"]},
        {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)", "amount": "max"}},
    )
    assert sql == (
        'WITH "__step_0" AS (SELECT * FROM "source" WHERE "status" = \'active\'), '
        '"__step_1" AS (SELECT "category", "amount" FROM "__step_0"), '
        '"__step_2" AS (SELECT "category", SUM("amount") AS "total", MAX("amount") AS "amount" '
        'FROM "__step_1" GROUP BY "category") SELECT * FROM "__step_2"'
    )


def test_identifiers_are_quoted_so_keywords_work_as_column_names() -> None:
    sql = compile_logic({"type": "select", "columns": ["order", "select"]}, columns=(Column("order"), Column("select")))
    assert '"order", "select"' in sql


def test_sort_orders_nulls_explicitly_and_breaks_ties_with_every_other_column() -> None:
    # sqlglot leaves out NULLS LAST where it is DuckDB's default; NULLS FIRST is always written.
    sql = compile_logic({"type": "sort", "by": ["amount"], "descending": True}, {"type": "limit", "n": 3})
    assert 'ORDER BY "amount" DESC, "status" ASC, "category" ASC LIMIT 3' in sql
    sql = compile_logic({"type": "sort", "by": ["amount"], "nulls": "first"})
    assert 'ORDER BY "amount" ASC NULLS FIRST, "status" ASC, "category" ASC' in sql


def test_semantics_are_pinned_in_the_generated_sql() -> None:
    sql = compile_logic(
        {"type": "derive", "column": "ratio", "expression": "amount / cast(category as double)"},
        {"type": "groupby", "columns": [], "aggregations": {"p50": "percentile(amount, 0.5)"}},
    )
    assert 'CAST("category" AS DOUBLE)' in sql and "TRY_CAST" not in sql
    assert 'NULLIF(CAST("category" AS DOUBLE), 0)' in sql
    assert 'QUANTILE_CONT("amount", 0.5)' in sql
