"""The ``mask`` transformation: its spec, its plan checks, the HMAC key pads and the SQL both engines get."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError

from airflow_provider_enterprise.compiler.duckdb import compile_plan
from airflow_provider_enterprise.compiler.masking import MaskingKey, dump_keys, key_relation, load_keys, require_keys
from airflow_provider_enterprise.compiler.plan import Column, PlanError, build_plan
from airflow_provider_enterprise.exceptions import MaskingKeyError, PermanentJobError
from airflow_provider_enterprise.spec import ProcessingLogic
from airflow_provider_enterprise.spec.transformations import DEFAULT_MASKING_CONN_ID, MaskMethod, MaskRule
from support.rfc4231 import VECTORS

COLUMNS = (Column("email", "string"), Column("card", "bigint"), Column("amount", "double"))
SECRET = b"unit-test-masking-key-0123456789"


def logic(*transformations: dict) -> ProcessingLogic:
    return ProcessingLogic.model_validate({"transformations": list(transformations)})


def test_both_shapes_of_a_rule_are_accepted_and_normalised() -> None:
    (mask,) = logic(
        {"type": "mask", "columns": {"email": "hash", "card": {"method": "partial", "keep_last": 2}}}
    ).transformations
    assert mask.columns == {
        "email": MaskRule(method=MaskMethod.HASH),
        "card": MaskRule(method=MaskMethod.PARTIAL, keep_last=2),
    }
    assert mask.key_conn_id == DEFAULT_MASKING_CONN_ID and mask.hashes
    assert (MaskRule(method="partial").kept, MaskRule(method="redact").redacted) == (4, "[REDACTED]")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"email": "scramble"}, "'hash', 'redact', 'partial' or 'null'"),
        ({"email": {"method": "hash", "keep_last": 2}}, "keep_last applies to method 'partial', not 'hash'"),
        ({"email": {"method": "partial", "replacement": "x"}}, "replacement applies to method 'redact'"),
        ({"email": {"method": "partial", "keep_last": -1}}, "greater than or equal to 0"),
        ({"e mail": "hash"}, "is not a column name"),
        ({}, "at least 1 item"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_problem(columns: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        logic({"type": "mask", "columns": columns})


def test_the_spec_cannot_carry_a_key() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        logic({"type": "mask", "columns": {"email": "hash"}, "key": "inline-secret"})


def test_masked_columns_become_strings_and_null_keeps_its_type() -> None:
    plan = build_plan(
        logic({"type": "mask", "columns": {"email": "hash", "card": "partial", "amount": "null"}}),
        {"input": COLUMNS},
        "input",
    )
    assert plan.columns == (Column("email", "string"), Column("card", "string"), Column("amount", "double"))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"missing": "hash"}, r"transformations\[1\] \(mask\): column 'missing' does not exist"),
        ({"amount": "hash"}, r"transformations\[1\] \(mask\): hash needs a string or integer column, but 'amount'"),
        ({"amount": "partial"}, r"partial needs a string or integer column, but 'amount' is double"),
    ],
)
def test_a_mask_that_does_not_fit_the_columns_names_the_step_and_column(columns: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build_plan(
            logic({"type": "filter", "condition": "amount > 0"}, {"type": "mask", "columns": columns}),
            {"input": COLUMNS},
            "input",
        )


def test_redact_and_null_accept_any_type() -> None:
    plan = build_plan(logic({"type": "mask", "columns": {"amount": "redact"}}), {"input": COLUMNS}, "input")
    assert plan.columns[2] == Column("amount", "string")


@pytest.mark.parametrize(("case", "key", "data", "digest"), VECTORS)
def test_pads_give_the_rfc_4231_digests(case: int, key: str, data: str, digest: str) -> None:
    inner, outer = MaskingKey("v", bytes.fromhex(key)).pads()
    assert len(inner) == len(outer) == 64
    inner_hash = hashlib.sha256(inner + bytes.fromhex(data)).digest()
    assert hashlib.sha256(outer + inner_hash).hexdigest().startswith(digest), f"RFC 4231 test case {case}"


def test_the_sql_holds_no_key_material() -> None:
    key = MaskingKey("2026-12", SECRET)
    spec_logic = logic({"type": "mask", "columns": {"email": "hash"}})
    sql = compile_plan(build_plan(spec_logic, {"input": COLUMNS}, "input"), {"input": "source"})
    assert f'CROSS JOIN "{key_relation(DEFAULT_MASKING_CONN_ID)}" AS "__mask_key"' in sql
    for material in (SECRET.decode(), SECRET.hex(), *(pad.hex() for pad in key.pads())):
        assert material not in sql.lower()


def test_keys_round_trip_through_the_environment_text_and_never_print() -> None:
    keys = {"a": MaskingKey("1", SECRET), "b": MaskingKey("2", bytes(range(256)))}
    assert load_keys(dump_keys(keys)) == keys
    assert load_keys(None) == {}
    assert SECRET.decode() not in repr(keys)
    assert hmac.compare_digest(load_keys(dump_keys(keys))["b"].secret, bytes(range(256)))


def test_a_hashing_job_without_its_key_is_a_permanent_error_naming_the_connection() -> None:
    with pytest.raises(MaskingKeyError, match="connection 'customer_key'") as raised:
        require_keys(["customer_key"], {})
    assert isinstance(raised.value, PermanentJobError)
    assert require_keys([], {"unused": MaskingKey("1", SECRET)}) == {}
    assert logic(
        {"type": "mask", "columns": {"email": "redact"}}, {"type": "mask", "columns": {"email": "hash"}}
    ).masking_key_conn_ids() == [DEFAULT_MASKING_CONN_ID]
