"""The one masking step: Airflow's secrets masker plus the job's own secrets (``redaction.py``)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_enterprise.security.redaction import is_secret_name, redact, redact_error, register_secret


def test_sensitive_job_data_values_are_masked_at_any_depth_and_wherever_they_appear() -> None:
    attempt = {
        "error_message": "login as svc with unit-token-1f2e refused",
        "spec": {
            "job_data": {
                "owner": "data-team",
                "retries": 3,
                "api_token": "unit-token-1f2e",
                "service": {"accounts": [{"Credential": 12345678}], "signing_key": "unit-signing-9a8b"},
                "pin_code": "42",
                "passphrase_hint": None,
                "use_key": True,
            },
            "output_path": "/out/unit-signing-9a8b",
        },
    }
    masked = redact(attempt)
    job_data = masked["spec"]["job_data"]
    assert (job_data["owner"], job_data["retries"], job_data["pin_code"]) == ("data-team", 3, "42")
    assert (job_data["api_token"], job_data["service"]) == (
        "***",
        {"accounts": [{"Credential": "***"}], "signing_key": "***"},
    )
    assert (job_data["passphrase_hint"], job_data["use_key"]) == (None, True)  # nothing to hide
    assert masked["error_message"] == "login as svc with *** refused"
    assert masked["spec"]["output_path"] == "/out/***"
    assert attempt["spec"]["job_data"]["api_token"] == "unit-token-1f2e"  # a copy: the input is left alone


def test_short_values_are_masked_under_their_key_only() -> None:
    masked = redact({"job_data": {"key": "abc"}, "note": "abc is everywhere: abcabc"})
    assert masked == {"job_data": {"key": "***"}, "note": "abc is everywhere: abcabc"}


def test_airflow_sensitive_names_apply_everywhere_and_registered_secrets_at_any_depth() -> None:
    register_secret("unit-registered-7c6d")
    deep = {"a": [{"b": {"c": [{"d": {"condition": "name = 'unit-registered-7c6d'"}}]}}]}
    masked = redact({"connection": {"password": "not-in-job-data"}, "deep": deep})
    assert masked["connection"]["password"] == "***"
    assert masked["deep"]["a"][0]["b"]["c"][0]["d"]["condition"] == "name = '***'"


def test_secrets_are_masked_as_sql_and_json_quote_them() -> None:
    register_secret("it's-unit-key-5b4a")
    for text in (
        "x = 'it''s-unit-key-5b4a'",
        "x = 'it\\'s-unit-key-5b4a'",
        json.dumps({"k": 'say "it\'s-unit-key-5b4a"'}),
    ):
        assert "unit-key-5b4a" not in redact(text), text
    secret = 'quoted"value-3e2d'
    masked = redact(
        {"job_data": {"password": secret}, "log": json.dumps({"dsn": secret}), "sql": "'quoted\"value-3e2d'"}
    )
    assert "value-3e2d" not in json.dumps(masked)


def test_register_makes_later_redactions_mask_the_jobs_secrets() -> None:
    assert redact("before: unit-later-6f5e") == "before: unit-later-6f5e"
    redact({"job_data": {"db_password": "unit-later-6f5e"}}, register=True)
    assert redact("after: unit-later-6f5e") == "after: ***"


def test_an_error_and_its_causes_are_masked_in_place() -> None:
    register_secret("unit-error-4d3c")
    try:
        try:
            raise ValueError("cause holds unit-error-4d3c")
        except ValueError as cause:
            raise RuntimeError("wrapper holds unit-error-4d3c", 7) from cause
    except RuntimeError as err:
        error = err
    redact_error(error)
    assert error.args == ("wrapper holds ***", 7)
    assert str(error.__cause__) == "cause holds ***"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("key", True),
        ("api_key", True),
        ("signingKey", True),
        ("ssh-key", True),
        ("db_password", True),
        ("partition_key", False),
        ("sort_key", False),
        ("primary_key", False),
        ("use_key", False),
        ("keys_to_keep", False),
    ],
)
def test_keys_of_data_are_not_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret
    masked = redact({"job_data": {name: "amount_total"}, "processing_logic": {"columns": ["amount_total"]}})
    assert (masked["processing_logic"]["columns"] == ["***"]) is secret  # a replay runs the stored spec


def test_registering_keys_before_the_attempt_exists_never_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering reads the keys only to register them: a failure there is left to the job's own read, which the
    attempt records (a secrets backend that is down stands in as an error of another kind)."""
    from airflow_provider_enterprise.security.masking_keys import EnterpriseMaskingKeyHook, register_keys

    def backend_down(self) -> None:
        raise ConnectionError("the secrets backend is down")

    monkeypatch.setattr(EnterpriseMaskingKeyHook, "get_key", backend_down)
    register_keys({"processing_logic": {"transformations": [{"type": "mask", "columns": {"email": "hash"}}]}})
