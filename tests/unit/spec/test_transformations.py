"""Tests for spec/transformations.py: each transformation's validation names the field, and its helpers."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.spec import InvalidJobSpec, validate_job_spec
from airflow_provider_enterprise.spec.transformations import (
    DEFAULT_MASKING_CONN_ID,
    TRANSFORMATION_TYPES,
    JoinTransformation,
    MaskMethod,
    MaskRule,
    MaskTransformation,
    ProcessingLogic,
    SortTransformation,
    Transformation,
)

BASE = {"job_name": "daily", "input_path": "/data/in.csv", "output_path": "/data/out"}


def error_of(*transformations: dict) -> str:
    """The message of the error a spec with these transformations raises."""
    with pytest.raises(InvalidJobSpec) as raised:
        validate_job_spec({**BASE, "processing_logic": {"transformations": list(transformations)}})
    return str(raised.value)


def logic(*transformations: dict) -> ProcessingLogic:
    return ProcessingLogic.model_validate({"transformations": list(transformations)})


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        ({"type": "filter", "condition": "amount >"}, "(filter).condition: cannot parse"),
        ({"type": "drop", "columns": ["a", "a"]}, "(drop).columns: columns listed twice: a"),
        ({"type": "rename", "mapping": {}}, "(rename).mapping: Dictionary should have at least 1 item"),
        ({"type": "rename", "mapping": {"a": "b c"}}, "(rename).mapping: 'b c' is not a column name"),
        ({"type": "rename", "mapping": {"1a": "b"}}, "(rename).mapping: '1a' is not a column name"),
        ({"type": "derive", "column": "a-b", "expression": "1"}, "(derive).column: 'a-b' is not a column name"),
        (
            {"type": "add_column", "column": "x", "expression": "sum(a)"},
            "(add_column).expression: function 'sum' is not allowed",
        ),
        ({"type": "cast", "columns": {"a": "varchar"}}, "(cast).columns: 'varchar' is not a supported type; use one"),
        ({"type": "cast", "columns": {"a": "decimal(40,2)"}}, "(cast).columns: 'decimal(40,2)': decimal precision"),
        ({"type": "cast", "columns": {"a": "decimal(5,6)"}}, "scale at most the precision"),
        ({"type": "groupby", "columns": ["a"], "aggregations": {}}, "(groupby).aggregations: Dictionary should"),
        ({"type": "groupby", "aggregations": {"t": "  "}}, "(groupby).aggregations: aggregation 't' is empty"),
        ({"type": "groupby", "aggregations": {"t": "amount + 1"}}, "aggregation 't': 'amount + 1' has no aggregate"),
        ({"type": "groupby", "aggregations": {"a b": "sum"}}, "(groupby).aggregations: 'a b' is not a column name"),
        ({"type": "groupby", "aggregations": {"n": "count"}, "having": "n >"}, "(groupby).having: cannot parse"),
        (
            {"type": "groupby", "columns": ["a"], "aggregations": {"a": "sum"}},
            "(groupby): aggregation names repeat group-by columns: a",
        ),
        ({"type": "dedupe", "keys": ["a"]}, "(dedupe): order_by is required with keys"),
        ({"type": "dedupe", "order_by": ["a"]}, "(dedupe): order_by needs keys"),
        ({"type": "dedupe", "keys": []}, "(dedupe).keys: List should have at least 1 item"),
        ({"type": "dedupe", "keys": ["a"], "order_by": ["b"], "keep": "any"}, "(dedupe).keep: Input should be"),
        ({"type": "sort", "by": ["a"], "descending": [True, False]}, "(sort): descending has 2 flags for 1 sort"),
        ({"type": "sort", "by": ["a"], "nulls": "middle"}, "(sort).nulls: Input should be 'first' or 'last'"),
        ({"type": "sort", "by": ["a"]}, None),
        ({"type": "join", "right": "r"}, "(join): a join needs on, or both left_on and right_on"),
        ({"type": "join", "right": "r", "left_on": ["a"]}, "(join): a join needs on, or both left_on and right_on"),
        ({"type": "join", "right": "r", "on": ["a"], "left_on": ["a"]}, "(join): use either on or left_on + right_on"),
        (
            {"type": "join", "right": "r", "left_on": ["a"], "right_on": ["b", "c"]},
            "left_on has 1 columns and right_on 2",
        ),
        ({"type": "join", "right": "r.x", "on": ["a"]}, "(join).right: 'r.x' is not a column name"),
        ({"type": "join", "right": "r", "on": ["a"], "how": "cross"}, "(join).how: Input should be 'inner'"),
        ({"type": "union", "inputs": []}, "(union).inputs: List should have at least 1 item"),
        ({"type": "union", "inputs": ["r", "r"]}, "(union).inputs: columns listed twice: r"),
        ({"type": "mask", "columns": {"a": "shuffle"}}, "(mask).columns.a"),
        ({"type": "mask", "columns": {"a b": "hash"}}, "(mask).columns: 'a b' is not a column name"),
        (
            {"type": "mask", "columns": {"a": "hash"}, "key_conn_id": "my key"},
            "(mask).key_conn_id: String should match",
        ),
        (
            {"type": "mask", "columns": {"a": {"method": "hash", "keep_last": 2}}},
            "keep_last applies to method 'partial'",
        ),
        ({"type": "mask", "columns": {"a": {"method": "null", "replacement": "x"}}}, "replacement applies to method"),
        ({"type": "mask", "columns": {"a": {"method": "partial", "keep_last": 65}}}, "keep_last: Input should be less"),
    ],
)
def test_each_transformation_names_the_bad_field(transformation: dict, expected: str | None) -> None:
    if expected is None:  # the control: the sort's defaults are valid
        validate_job_spec({**BASE, "processing_logic": {"transformations": [transformation]}})
        return
    message = error_of(transformation)
    assert f"processing_logic.transformations[0] ({transformation['type']})" in message
    assert (f"transformations[0] {expected}" if expected.startswith("(") else expected) in message


def test_a_limit_must_follow_a_sort() -> None:
    assert "transformations[1] (limit) must follow a sort" in error_of(
        {"type": "select", "columns": ["a"]}, {"type": "limit", "n": 5}
    )
    assert "limit) must follow a sort" in error_of({"type": "limit", "n": 5})
    assert "(limit).n: Input should be greater than or equal to 0" in error_of(
        {"type": "sort", "by": ["a"]}, {"type": "limit", "n": -1}
    )
    sorted_then_limited = logic({"type": "sort", "by": ["a"]}, {"type": "limit", "n": 5})
    assert [t.type for t in sorted_then_limited.transformations] == ["sort", "limit"]


def test_checks_named_twice_are_refused() -> None:
    check = {"type": "row_count", "name": "rows", "min": 1}
    with pytest.raises(ValueError, match="checks named twice: rows"):
        ProcessingLogic.model_validate({"checks": [check, check]})


def test_every_listed_type_is_in_the_union() -> None:
    members = Transformation.__origin__.__args__  # type: ignore[attr-defined]
    accepted = {value for member in members for value in member.model_fields["type"].annotation.__args__}
    assert accepted == set(TRANSFORMATION_TYPES)


def test_sort_directions_are_one_per_column() -> None:
    assert SortTransformation(type="sort", by=["a", "b"], descending=True).directions() == [True, True]
    assert SortTransformation(type="sort", by=["a", "b"], descending=[False, True]).directions() == [False, True]


def test_join_key_pairs() -> None:
    assert JoinTransformation(type="join", right="r", on=["id", "day"]).key_pairs() == [("id", "id"), ("day", "day")]
    paired = JoinTransformation(type="join", right="r", left_on=["customer_id"], right_on=["id"])
    assert paired.key_pairs() == [("customer_id", "id")]


def test_mask_rules_fill_in_the_defaults() -> None:
    mask = MaskTransformation(
        type="mask",
        columns={"email": "hash", "card": {"method": "partial", "keep_last": 2}, "name": "redact", "ssn": "partial"},
    )
    assert {name: rule.method for name, rule in mask.rules.items()} == {
        "email": MaskMethod.HASH,
        "card": MaskMethod.PARTIAL,
        "name": MaskMethod.REDACT,
        "ssn": MaskMethod.PARTIAL,
    }
    assert mask.rules["card"].kept == 2
    assert mask.rules["ssn"].kept == 4
    assert mask.rules["name"].redacted == "[REDACTED]"
    assert MaskRule(method=MaskMethod.REDACT, replacement="***").redacted == "***"
    assert mask.key_conn_id == DEFAULT_MASKING_CONN_ID
    assert mask.hashes
    assert not MaskTransformation(type="mask", columns={"name": "null"}).hashes


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("sha999", "columns.email.method: Input should be 'hash', 'redact', 'partial' or 'null' (got 'sha999')"),
        ({"method": "hash", "salt": "x"}, "columns.email.salt: Extra inputs are not permitted"),
        ({"method": "hash", "keep_last": 2}, "keep_last applies to method 'partial', not 'hash'"),
    ],
)
def test_mask_errors_name_the_rule_field_not_the_union(rule: object, expected: str) -> None:
    message = error_of({"type": "mask", "columns": {"email": rule}})
    assert expected in message
    assert "str-enum" not in message and "function-after" not in message
    assert message.count("columns.email") == 1


def test_inputs_and_masking_keys_in_order_of_use() -> None:
    steps = logic(
        {"type": "join", "right": "customers", "on": ["id"]},
        {"type": "union", "inputs": ["archive", "customers"]},
        {"type": "mask", "columns": {"email": "hash"}, "key_conn_id": "key_b"},
        {"type": "mask", "columns": {"name": "redact"}, "key_conn_id": "unused"},
        {"type": "mask", "columns": {"phone": "hash"}, "key_conn_id": "key_a"},
        {"type": "mask", "columns": {"ip": "hash"}, "key_conn_id": "key_b"},
    )
    assert steps.named_inputs() == ["customers", "archive"]
    assert steps.input_reads("orders") == {"orders": 1, "customers": 2, "archive": 1}
    assert steps.masking_key_conn_ids() == ["key_b", "key_a"]


def test_templated_fields_are_left_for_rendering() -> None:
    templated = {
        "type": "groupby",
        "columns": ["{{ params.key }}"],
        "aggregations": {"total": "{{ params.aggregate }}"},
        "having": "total > {{ params.floor }}",
    }
    message = error_of(templated)
    assert "(groupby).columns: '{{ params.key }}' is not a column name" in message
    assert "(groupby).aggregations: aggregation 'total': cannot parse" in message
    assert "(groupby).having: cannot parse" in message
    spec = validate_job_spec(
        {**BASE, "processing_logic": {"transformations": [templated]}},
        allow_templates=True,
    )
    assert spec.processing_logic.transformations[0].having == "total > {{ params.floor }}"
