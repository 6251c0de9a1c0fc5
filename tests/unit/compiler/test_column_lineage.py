"""Column lineage derived from the plan, transformation by transformation."""

from __future__ import annotations

from airflow_provider_enterprise.compiler.lineage import Subtype, column_lineage, recorded_columns
from airflow_provider_enterprise.compiler.plan import Column, build_plan
from airflow_provider_enterprise.spec.transformations import ProcessingLogic

ORDERS = (Column("id", "bigint"), Column("customer", "string"), Column("amount", "double"), Column("day", "date"))
CUSTOMERS = (Column("customer", "string"), Column("country", "string"), Column("email", "string"))
ARCHIVE = (Column("order_id", "bigint"), Column("buyer", "string"), Column("total", "double"), Column("on", "date"))


def lineage_of(*transformations: dict):
    logic = ProcessingLogic.model_validate({"transformations": list(transformations)})
    plan = build_plan(logic, {"orders": ORDERS, "customers": CUSTOMERS, "archive": ARCHIVE}, "orders")
    return column_lineage(plan)


def direct(lineage, column: str) -> dict[tuple[str, str], tuple[str, bool]]:
    return {field: (how.subtype.value, how.masking) for field, how in lineage.fields[column].items()}


def test_untouched_and_renamed_columns_are_identities() -> None:
    lineage = lineage_of({"type": "rename", "mapping": {"amount": "value"}}, {"type": "drop", "columns": ["day"]})
    assert set(lineage.fields) == {"id", "customer", "value"}
    assert direct(lineage, "value") == {("orders", "amount"): ("IDENTITY", False)}
    assert lineage.dataset == {}


def test_derive_cast_and_mask_are_transformations_and_keep_their_steps() -> None:
    lineage = lineage_of(
        {"type": "derive", "column": "gross", "expression": "amount * 1.2 + id"},
        {"type": "cast", "columns": {"gross": "decimal(12, 2)"}},
        {"type": "mask", "columns": {"customer": "null"}},
    )
    assert direct(lineage, "gross") == {
        ("orders", "amount"): ("TRANSFORMATION", False),
        ("orders", "id"): ("TRANSFORMATION", False),
    }
    assert lineage.fields["gross"][("orders", "amount")].descriptions == (
        "amount * 1.2 + id",
        "CAST(gross AS decimal(12, 2))",
    )
    assert direct(lineage, "customer") == {("orders", "customer"): ("TRANSFORMATION", True)}


def test_groupby_aggregates_and_indirect_filter_group_sort_window() -> None:
    lineage = lineage_of(
        {"type": "filter", "condition": "day >= '2026-01-01'"},
        {"type": "dedupe", "keys": ["id"], "order_by": ["day"]},
        {"type": "groupby", "columns": ["customer"], "aggregations": {"spent": "sum(amount)", "n": "count(*)"}},
        {"type": "groupby", "columns": ["customer"], "aggregations": {"top": "max(spent)"}, "having": "top > 10"},
        {"type": "sort", "by": ["top"]},
    )
    assert set(lineage.fields) == {"customer", "top"}
    assert direct(lineage, "top") == {("orders", "amount"): ("AGGREGATION", False)}
    assert lineage.dataset == {
        ("orders", "day"): {Subtype.FILTER, Subtype.WINDOW},
        ("orders", "id"): {Subtype.WINDOW},
        ("orders", "customer"): {Subtype.GROUP_BY},
        ("orders", "amount"): {Subtype.FILTER, Subtype.SORT},  # having top > 10, sort by top
    }


def test_join_takes_columns_from_both_inputs_and_marks_the_keys() -> None:
    lineage = lineage_of({"type": "join", "right": "customers", "on": ["customer"], "how": "full"})
    assert direct(lineage, "country") == {("customers", "country"): ("IDENTITY", False)}
    assert direct(lineage, "customer") == {  # a full join's shared key: the first non-NULL of both
        ("orders", "customer"): ("IDENTITY", False),
        ("customers", "customer"): ("IDENTITY", False),
    }
    assert lineage.dataset == {("orders", "customer"): {Subtype.JOIN}, ("customers", "customer"): {Subtype.JOIN}}


def test_semi_join_keeps_the_left_columns_only() -> None:
    lineage = lineage_of({"type": "join", "right": "customers", "on": ["customer"], "how": "semi"})
    assert set(lineage.fields) == {c.name for c in ORDERS}
    assert ("customers", "customer") in lineage.dataset


def test_union_by_position_merges_each_column_with_the_other_inputs() -> None:
    lineage = lineage_of({"type": "union", "inputs": ["archive"], "by_name": False})
    assert direct(lineage, "amount") == {
        ("orders", "amount"): ("IDENTITY", False),
        ("archive", "total"): ("IDENTITY", False),
    }


def test_recorded_columns_are_plain_data_of_every_input() -> None:
    logic = ProcessingLogic.model_validate({"transformations": []})
    plan = build_plan(logic, {"orders": ORDERS, "customers": CUSTOMERS}, "orders")
    assert recorded_columns(plan)["customers"] == [["customer", "string"], ["country", "string"], ["email", "string"]]
