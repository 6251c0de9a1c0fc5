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


WIDENED = {
    "int": ("BIGINT", [2**31 - 1, 2**31 - 1, -(2**31)]),
    "bigint": ("INT128", [2**63 - 1, 2**63 - 1, 5]),
    "decimal(15, 2)": ("DECIMAL(18, 2)", ["9999999999999.99", "9999999999999.99", "-0.01"]),
    "decimal(18, 3)": ("DECIMAL(38, 3)", ["999999999999999.999", "999999999999999.999", "0.001"]),
}


def test_sums_of_a_column_are_widened_without_changing_value_or_type() -> None:
    """The widening that keeps DuckDB's grouped aggregate from holding the scan (see ``_widened_sums``)."""
    import duckdb

    columns = (Column("k", "string"), *(Column(f"c{i}", t) for i, t in enumerate(WIDENED)), Column("d", "double"))
    aggregations = {f"s{i}": f"sum(c{i})" for i in range(len(WIDENED))} | {"sd": "sum(d)", "e": "sum(c0 + 1)"}
    sql = compile_logic({"type": "groupby", "columns": ["k"], "aggregations": aggregations}, columns=columns)
    for i, (widened, _) in enumerate(WIDENED.values()):
        assert f'SUM(CAST("c{i}" AS {widened}))' in sql
    assert 'SUM("d")' in sql and 'SUM("c0" + 1)' in sql  # doubles and computed arguments are left alone

    con = duckdb.connect()
    rows = [", ".join(["'a'", *(f"CAST('{v[r]}' AS {t})" for t, (_, v) in WIDENED.items()), "1.5"]) for r in range(3)]
    names = ", ".join(c.name for c in columns)
    con.execute(f"CREATE TABLE source AS SELECT * FROM (VALUES ({'), ('.join(rows)})) t({names})")
    sums = [f"s{i}" for i in range(len(WIDENED))] + ["sd"]
    plain = "SELECT " + ", ".join(f"sum(c{i}) AS s{i}" for i in range(len(WIDENED))) + ", sum(d) AS sd FROM source"
    widened = f"SELECT {', '.join(sums)} FROM ({sql})"
    assert con.execute(widened).fetchall() == con.execute(plain).fetchall()
    assert con.execute(f"DESCRIBE {widened}").fetchall() == con.execute(f"DESCRIBE {plain}").fetchall()
