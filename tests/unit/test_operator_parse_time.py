"""What the operator checks when the DAG file is parsed (no I/O happens there)."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.spec import InvalidJobSpec

LOGIC = {"transformations": [{"type": "filter", "condition": "status = 'active'"}]}


def build(**overrides):
    fields = {
        "task_id": "process",
        "job_name": "daily",
        "input_path": "/in.csv",
        "output_path": "/out",
        "processing_logic": LOGIC,
    }
    return EnterpriseDataProcessingOperator(**{**fields, **overrides})


def test_bad_literal_spec_fails_at_construction() -> None:
    with pytest.raises(InvalidJobSpec, match=r"transformations\[0\] \(filter\).condition: function 'reflect'"):
        build(processing_logic={"transformations": [{"type": "filter", "condition": "reflect('a', 'b')"}]})
    with pytest.raises(InvalidJobSpec, match="execution_engine"):
        build(execution_engine="gpu")


def test_templated_values_and_run_time_values_are_checked_later() -> None:
    from airflow.sdk import DAG, task

    build(processing_logic='{"transformations": {{ params.transformations }}}')
    build(processing_logic={"transformations": [{"type": "filter", "condition": "amount > {{ params.min }}"}]})
    build(execution_engine="{{ params.engine }}")  # the trigger form's choice
    with DAG("parse_time_xcom", schedule=None):

        @task
        def locate() -> str:
            return "/in.csv"

        operator = build(input_path=locate())
    assert operator.input_path is not None


def test_json_string_spec_is_validated() -> None:
    build(processing_logic='{"transformations": [{"type": "select", "columns": ["a"]}]}')
    with pytest.raises(InvalidJobSpec, match="processing_logic is not valid JSON"):
        build(processing_logic="{not json")


def test_declared_schemas_catch_column_and_type_errors_at_parse_time() -> None:
    schema = {"input_options": {"schema": {"status": "string", "amount": "double"}}}
    build(**schema, processing_logic={"transformations": [{"type": "filter", "condition": "amount > 1"}]})
    with pytest.raises(InvalidJobSpec, match=r"transformations\[0\] \(select\): column 'amout' does not exist"):
        build(**schema, processing_logic={"transformations": [{"type": "select", "columns": ["amout"]}]})
    groupby = {"type": "groupby", "columns": ["amount"], "aggregations": {"total": "sum(status)"}}
    with pytest.raises(InvalidJobSpec, match=r"sum\(\) needs a number, but column 'status' is string"):
        build(**schema, processing_logic={"transformations": [groupby]})
    build(processing_logic={"transformations": [{"type": "select", "columns": ["amout"]}]})  # no schema: run time


def test_nesting_past_the_limit_is_an_invalid_spec_naming_the_field() -> None:
    deep = "(" * 50 + "amount > 0" + ")" * 50
    with pytest.raises(
        InvalidJobSpec, match=r"transformations\[0\] \(filter\).condition: nesting deeper than 24 levels"
    ):
        build(processing_logic={"transformations": [{"type": "filter", "condition": deep}]})
