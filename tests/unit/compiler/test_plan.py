"""The compiler's plan: columns and types resolved step by step, and the checked trees the back ends share."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.compiler.duckdb import compile_plan
from airflow_provider_enterprise.compiler.lineage import column_lineage
from airflow_provider_enterprise.compiler.plan import Column, PlanError, plan_job
from airflow_provider_enterprise.expressions import parse_expression
from airflow_provider_enterprise.spec import validate_job_spec

BASE = {"job_name": "plan", "input_path": "/data/in.csv", "output_path": "/data/out"}
COLUMNS = (
    Column("status", "string"),
    Column("amount", "double"),
    Column("customer_id", "bigint"),
    Column("category", "string"),
)


def plan_of(*transformations: dict):
    spec = validate_job_spec({**BASE, "processing_logic": {"transformations": list(transformations)}})
    return plan_job(spec, {spec.primary_input: COLUMNS})


def test_each_step_produces_its_columns_with_their_types() -> None:
    plan = plan_of(
        {"type": "derive", "column": "cents", "expression": "amount * 100"},
        {"type": "groupby", "columns": ["category"], "aggregations": {"n": "count(*)", "top": "max(cents)"}},
    )
    assert [(c.name, c.type) for c in plan.steps[0].columns][-1] == ("cents", "double")
    assert [(c.name, c.type) for c in plan.columns] == [("category", "string"), ("n", "bigint"), ("top", "double")]


@pytest.mark.parametrize(
    ("transformation", "message"),
    [
        ({"type": "filter", "condition": "colour = 'red'"}, "column 'colour' does not exist"),
        ({"type": "filter", "condition": "amount + 1"}, "is double, not a boolean"),
        ({"type": "filter", "condition": "status > 3"}, "compares string with bigint"),
        ({"type": "groupby", "columns": [], "aggregations": {"s": "sum(status)"}}, "sum() needs a number"),
        ({"type": "rename", "mapping": {"status": "amount"}}, "two columns the name 'amount'"),
    ],
)
def test_a_transformation_that_does_not_fit_its_columns_is_named(transformation: dict, message: str) -> None:
    with pytest.raises(PlanError, match="transformations\\[0\\]") as raised:
        plan_of(transformation)
    assert message in str(raised.value)


def test_compiling_a_plan_leaves_its_shared_trees_as_they_were() -> None:
    spec = validate_job_spec(
        {
            **BASE,
            "processing_logic": {
                "transformations": [
                    {"type": "filter", "condition": "amount / customer_id > 0 AND status = 'active'"},
                    {"type": "derive", "column": "whole", "expression": "floor(amount)"},
                    {
                        "type": "groupby",
                        "columns": ["category"],
                        "aggregations": {"n": "count_if(amount > 1)", "total": "sum(customer_id)"},
                        "having": "n > 0",
                    },
                ]
            },
        }
    )
    plan = plan_job(spec, {spec.primary_input: COLUMNS})
    before = {text: tree.sql("spark") for step in plan.steps for text, tree in step.trees.items()}
    assert len(before) == 5
    compile_plan(plan, {spec.primary_input: "input"})
    column_lineage(plan)
    assert {text: tree.sql("spark") for step in plan.steps for text, tree in step.trees.items()} == before
    assert parse_expression("floor(amount)") is plan.steps[1].tree("floor(amount)")
