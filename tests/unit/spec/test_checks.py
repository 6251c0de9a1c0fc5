"""The checks of ``processing_logic.checks``: what the spec refuses, naming the check, before any data exists."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.compiler.plan import plan_from_declared_schemas
from airflow_provider_enterprise.spec import InvalidJobSpec, validate_job_spec
from airflow_provider_enterprise.spec.checks import RegexError, check_portable_regex

SCHEMA = {"id": "bigint", "name": "string", "amount": "decimal(10, 2)", "ts": "timestamp", "ok": "boolean"}
BASE = {"job_name": "daily", "input_path": "/data/in.csv", "output_path": "/data/out"}


def spec_with(*checks: dict, **fields) -> dict:
    return {**BASE, **fields, "processing_logic": {"checks": list(checks)}}


def planned(*checks: dict) -> None:
    spec = validate_job_spec(spec_with(*checks, input_options={"schema": SCHEMA}))
    plan_from_declared_schemas(spec)


def test_checks_get_names_severities_and_targets() -> None:
    spec = validate_job_spec(
        spec_with(
            {"type": "not_null", "column": "id"},
            {"type": "unique", "columns": ["id", "name"], "severity": "warn"},
            {"type": "row_count", "min": 1, "input": "input"},
            {"type": "freshness", "column": "ts", "max_age": "6h", "name": "recent"},
        )
    )
    checks = spec.processing_logic.checks
    assert [c.check_name for c in checks] == ["not_null_id", "unique_id_name", "row_count_input", "recent"]
    assert [c.severity.value for c in checks] == ["fail", "warn", "fail", "fail"]
    assert [c.target for c in checks] == ["output", "output", "input:input", "output"]
    assert checks[3].max_age == 6 * 3600


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"type": "no_such_check", "column": "id"}, "does not match any of the expected tags: 'not_null'"),
        ({"type": "not_null"}, "checks[0] (not_null).column: Field required"),
        ({"type": "not_null", "column": "a b"}, "'a b' is not a column name"),
        ({"type": "unique", "columns": []}, "checks[0] (unique).columns"),
        ({"type": "range", "column": "amount"}, "a range check needs min, max or both"),
        ({"type": "range", "column": "amount", "min": "0", "name": "pos"}, "checks[0] 'pos' (range).min"),
        ({"type": "range", "column": "amount", "min": 5, "max": 1}, "min 5 is greater than max 1"),
        ({"type": "accepted_values", "column": "name", "values": ["a", 1]}, "values mix number and str"),
        ({"type": "row_count"}, "needs min, max or max_change_pct"),
        ({"type": "row_count", "max_change_pct": "lots"}, "max_change_pct"),
        ({"type": "freshness", "column": "ts", "max_age": "soon"}, "max_age 'soon' is not a positive duration"),
        ({"type": "schema", "columns": {"id": "uuid"}}, "'uuid' is not a supported type"),
        ({"type": "schema", "columns": {"id": "bigint"}, "mode": "thaw"}, "checks[0] (schema).mode"),
        ({"type": "matches", "column": "name", "pattern": "(?<=a)b"}, "a group with options"),
        ({"type": "not_null", "column": "id", "severity": "loud"}, "checks[0] (not_null).severity"),
        ({"type": "not_null", "column": "id", "name": "has space"}, "'has space' is not a check name"),
        ({"type": "not_null", "column": "id", "input": "other"}, "name inputs that are not defined"),
        ({"type": "row_count", "min": 1, "keep_failing_rows": True}, "(row_count).keep_failing_rows: Extra inputs"),
    ],
)
def test_bad_checks_are_refused_naming_the_check(check: dict, message: str) -> None:
    with pytest.raises(InvalidJobSpec) as raised:
        validate_job_spec(spec_with(check))
    assert message in str(raised.value)


def test_two_checks_of_one_name_are_refused() -> None:
    with pytest.raises(InvalidJobSpec, match="checks named twice: not_null_id"):
        validate_job_spec(spec_with({"type": "not_null", "column": "id"}, {"type": "not_null", "column": "id"}))


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"type": "not_null", "column": "missing"}, "checks[0] 'not_null_missing' (not_null): column 'missing' is not"),
        ({"type": "unique", "columns": ["id", "nope"]}, "column 'nope' is not in the output (columns: id, name,"),
        ({"type": "range", "column": "name", "min": 0}, "column 'name' is string: a range check needs a number"),
        ({"type": "matches", "column": "id", "pattern": "^1"}, "column 'id' is bigint: a matches check needs a string"),
        ({"type": "freshness", "column": "id", "max_age": 60}, "a freshness check needs a date or timestamp"),
        ({"type": "accepted_values", "column": "id", "values": ["a"]}, "its accepted values are str values"),
        ({"type": "accepted_values", "column": "ok", "values": [1]}, "column 'ok' is boolean"),
    ],
)
def test_checks_that_do_not_fit_the_plan_are_refused(check: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        planned(check)
    assert message in str(raised.value)


def test_checks_that_fit_the_plan_pass() -> None:
    planned(
        {"type": "range", "column": "amount", "min": 0, "max_inclusive": False, "max": 100.5},
        {"type": "accepted_values", "column": "ok", "values": [True]},
        {"type": "accepted_values", "column": "id", "values": [1, 2.5]},
        {"type": "freshness", "column": "ts", "max_age": 60},
        {"type": "schema", "columns": {"id": "long", "amount": "decimal(10,2)"}, "mode": "evolve"},
        {"type": "row_count", "min": 0, "input": "input"},
    )


@pytest.mark.parametrize(
    "pattern",
    [r"^\d{3}-\d{4}$", r"^[A-Za-z0-9._%+-]+@[a-z]+\.[a-z]{2,}$", r"(?:ab|cd)+?", r"^x{2,5}$", r"a\.b\\c", r"[^\s]"],
)
def test_portable_patterns_are_accepted(pattern: str) -> None:
    check_portable_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("a++", "possessive"),
        ("(?=x)", "look-around"),
        ("(?P<n>x)", "named"),
        ("(?i)x", "flags"),
        (r"(a)\1", r"the escape \1"),
        ("[[:alpha:]]", "POSIX class"),
        ("[a-z&&[^e]]", "'&&' in a class"),
        ("a{", "not a repetition"),
        ("x{,3}", "not a repetition"),
        (r"\p{L}", r"the escape \p"),
        (r"\bword", r"the escape \b"),
        ("[]a]", "']' first in a class"),
        ("(", "does not compile"),
    ],
)
def test_patterns_engines_read_differently_are_refused(pattern: str, construct: str) -> None:
    with pytest.raises(RegexError) as raised:
        check_portable_regex(pattern)
    assert construct in str(raised.value)
