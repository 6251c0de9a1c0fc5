from __future__ import annotations

from airflow_provider_enterprise.compiler.duckdb import compile_query
from airflow_provider_enterprise.spec import ProcessingLogic


def logic(*transformations: dict) -> ProcessingLogic:
    return ProcessingLogic.model_validate({"transformations": list(transformations)})


def test_empty_logic_selects_the_source() -> None:
    assert compile_query(logic()) == 'SELECT * FROM "source"'


def test_each_transformation_is_one_cte_over_the_previous() -> None:
    sql = compile_query(
        logic(
            {"type": "filter", "condition": 'status = "active"'},
            {"type": "select", "columns": ["category", "amount"]},
            {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)", "amount": "max"}},
        )
    )
    assert sql == (
        'WITH "step_0" AS (SELECT * FROM "source" WHERE "status" = \'active\'), '
        '"step_1" AS (SELECT "category", "amount" FROM "step_0"), '
        '"step_2" AS (SELECT "category", SUM("amount") AS "total", MAX("amount") AS "amount" '
        'FROM "step_1" GROUP BY "category") SELECT * FROM "step_2"'
    )


def test_identifiers_are_quoted_so_keywords_work_as_column_names() -> None:
    sql = compile_query(logic({"type": "select", "columns": ["order", "select"]}))
    assert '"order", "select"' in sql
