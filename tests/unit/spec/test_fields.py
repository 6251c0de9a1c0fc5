"""Tests for spec/fields.py: the field checks every spec model shares."""

from __future__ import annotations

import pytest
from pydantic import ValidationError, field_validator

from airflow_provider_enterprise.spec.fields import (
    StrictModel,
    check_column_type,
    check_expression,
    check_identifiers,
    contains_template,
)


class Columns(StrictModel):
    """A model using the shared checks, as the transformations do."""

    columns: list[str]
    condition: str = "true"

    @field_validator("columns")
    @classmethod
    def _columns(cls, value, info):
        return check_identifiers(value, info)

    @field_validator("condition")
    @classmethod
    def _condition(cls, value, info):
        return check_expression(value, info)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("{{ params.x }}", True),
        ("{% if x %}a{% endif %}", True),
        ("a { b } c", False),
        ({"k": ["plain", {"deep": "{{ ds }}"}]}, True),
        ({"{{ key }}": 1}, True),
        (("a", "b"), False),
        (42, False),
    ],
)
def test_templates_are_found_at_any_depth(value, found: bool) -> None:
    assert contains_template(value) is found


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("INTEGER", "int"),
        ("long", "bigint"),
        ("float", "double"),
        ("Float64", "double"),
        ("bool", "boolean"),
        (" timestamp ", "timestamp"),
        ("decimal(10,2)", "decimal(10, 2)"),
        ("DECIMAL( 38 , 0 )", "decimal(38, 0)"),
    ],
)
def test_type_names_are_normalised(written: str, normalised: str) -> None:
    assert check_column_type(written) == normalised


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("varchar", "'varchar' is not a supported type; use one of string, boolean, int, bigint, double, date"),
        ("decimal(0,0)", "decimal precision must be 1-38"),
        ("decimal(39,2)", "decimal precision must be 1-38"),
        ("decimal(5,6)", "scale at most the precision"),
        ("decimal(5)", "'decimal(5)' is not a supported type"),
    ],
)
def test_bad_type_names_are_refused_naming_the_choices(written: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_column_type(written)


def test_identifiers_and_expressions_are_checked_unless_templated() -> None:
    with pytest.raises(ValidationError, match="columns listed twice: a, b"):
        Columns(columns=["a", "b", "a", "b", "c"])
    with pytest.raises(ValidationError, match="'2nd' is not a column name"):
        Columns(columns=["2nd"])
    with pytest.raises(ValidationError, match="function 'reflect' is not allowed"):
        Columns(columns=["a"], condition="reflect('a', 'b')")
    templated = {"columns": ["{{ params.column }}"], "condition": "a > {{ params.floor }}"}
    with pytest.raises(ValidationError):
        Columns.model_validate(templated)
    assert Columns.model_validate(templated, context={"allow_templates": True}).columns == ["{{ params.column }}"]
    # templates do not hide a mistake outside them
    with pytest.raises(ValidationError, match="'a b' is not a column name"):
        Columns.model_validate({"columns": ["a b", "{{ x }}"]}, context={"allow_templates": True})


def test_strict_models_refuse_unknown_fields_and_changes() -> None:
    with pytest.raises(ValidationError, match="extra_field"):
        Columns(columns=["a"], extra_field=1)
    model = Columns(columns=["a"])
    with pytest.raises(ValidationError, match="frozen"):
        model.columns = ["b"]
