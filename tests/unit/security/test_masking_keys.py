"""EnterpriseMaskingKeyHook: the key and its version from an Airflow connection (here an env-var connection)."""

from __future__ import annotations

import base64
import json

import pytest

from airflow_provider_enterprise.exceptions import MaskingKeyError
from airflow_provider_enterprise.security.masking_keys import EnterpriseMaskingKeyHook, masking_keys

SECRET = "unit-test-key-with-enough-bytes"


def connect(monkeypatch, conn_id: str = "enterprise_masking_default", **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "enterprise_masking", **fields}))


def test_password_is_the_key_and_login_its_version(monkeypatch) -> None:
    connect(monkeypatch, login="2026-12", password=SECRET)
    key = EnterpriseMaskingKeyHook().get_key()
    assert (key.version, key.secret) == ("2026-12", SECRET.encode())
    assert SECRET not in repr(key)


@pytest.mark.parametrize(
    ("encoding", "password"),
    [("hex", bytes(range(32)).hex()), ("base64", base64.b64encode(bytes(range(32))).decode())],
)
def test_binary_keys_are_spelled_in_hex_or_base64(monkeypatch, encoding: str, password: str) -> None:
    connect(monkeypatch, "customer_key", password=password, extra=json.dumps({"encoding": encoding}))
    assert masking_keys(["customer_key"])["customer_key"].secret == bytes(range(32))
    assert masking_keys(["customer_key"])["customer_key"].version == "unversioned"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "has no password: the password is the hashing key"),
        ({"password": "short"}, "the key has 5 bytes; use at least 16"),
        ({"password": "zz", "extra": json.dumps({"encoding": "hex"})}, "its password is not valid hex"),
        ({"password": SECRET, "extra": json.dumps({"encoding": "rot13"})}, "encoding 'rot13' is not one of"),
    ],
)
def test_an_unusable_connection_is_refused_naming_it(monkeypatch, fields: dict, message: str) -> None:
    connect(monkeypatch, **fields)
    with pytest.raises(MaskingKeyError, match=f"connection 'enterprise_masking_default'.*{message}|{message}"):
        EnterpriseMaskingKeyHook().get_key()


def test_a_missing_connection_says_how_to_define_it(monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_KEY", raising=False)
    with pytest.raises(MaskingKeyError, match="'no_such_key', which does not exist: define it with the key"):
        EnterpriseMaskingKeyHook("no_such_key").get_key()
