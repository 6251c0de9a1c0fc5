"""The keys of the ``mask`` transformation's ``hash``, from Airflow connections (or a secrets backend)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, TypeVar

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from pydantic import ValidationError

from airflow_provider_enterprise.compiler.masking import MaskingKey
from airflow_provider_enterprise.exceptions import MaskingKeyError
from airflow_provider_enterprise.security.redaction import redact, register_secret
from airflow_provider_enterprise.spec.transformations import DEFAULT_MASKING_CONN_ID, MaskTransformation

T = TypeVar("T")

#: How the connection's password spells the key (extra ``encoding``).
ENCODINGS = ("utf-8", "hex", "base64")

#: The version recorded when the connection's login names none.
UNVERSIONED = "unversioned"

#: Shortest key accepted, in bytes: RFC 2104 recommends at least the hash's output length.
MIN_KEY_BYTES = 16


class EnterpriseMaskingKeyHook(BaseHook):
    """
    Read a hashing key of the ``mask`` transformation.

    The connection's password is the key, its login the key's version (recorded with each job's result), and
    the extra ``encoding`` says how the password spells the key: ``utf-8`` (default), ``hex`` or ``base64``.
    The key is registered with Airflow's secrets masker as soon as it is read, as written and as SQL and JSON
    quote it (:func:`~airflow_provider_enterprise.security.redaction.register_secret`).

    :param masking_conn_id: the connection holding the key.
    """

    conn_name_attr = "masking_conn_id"
    default_conn_name = DEFAULT_MASKING_CONN_ID
    conn_type = "enterprise_masking"
    hook_name = "Enterprise masking key"

    def __init__(self, masking_conn_id: str = DEFAULT_MASKING_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.masking_conn_id = masking_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["host", "schema", "port"],
            "relabeling": {"login": "Key version", "password": "Key"},
            "placeholders": {"login": "2026-12", "extra": '{"encoding": "hex"}'},
        }

    def get_key(self) -> MaskingKey:
        """Return the key and its version; raise :class:`MaskingKeyError` naming what is wrong with the connection."""
        conn_id = self.masking_conn_id
        try:
            conn = self.get_connection(conn_id)
        except AirflowNotFoundException:
            raise MaskingKeyError(
                f"mask hashes with the key of connection {conn_id!r}, which does not exist: define it with the key "
                "as its password and the key's version as its login"
            ) from None
        if not conn.password:
            raise MaskingKeyError(f"connection {conn_id!r} has no password: the password is the hashing key")
        register_secret(conn.password)
        encoding = conn.extra_dejson.get("encoding", "utf-8")
        if encoding not in ENCODINGS:
            raise MaskingKeyError(f"connection {conn_id!r}: encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
        try:
            decoders: dict[str, Callable[[str], bytes]] = {
                "utf-8": lambda text: text.encode(),
                "hex": bytes.fromhex,
                "base64": lambda text: base64.b64decode(text, validate=True),
            }
            secret = decoders[encoding](conn.password)
        except (ValueError, binascii.Error):
            raise MaskingKeyError(f"connection {conn_id!r}: its password is not valid {encoding}") from None
        if len(secret) < MIN_KEY_BYTES:
            raise MaskingKeyError(
                f"connection {conn_id!r}: the key has {len(secret)} bytes; use at least {MIN_KEY_BYTES} random bytes"
            )
        return MaskingKey(version=conn.login or UNVERSIONED, secret=secret)


def masking_keys(conn_ids: Iterable[str]) -> dict[str, MaskingKey]:
    """Return the key of each connection in ``conn_ids``, by connection id."""
    return {conn_id: EnterpriseMaskingKeyHook(conn_id).get_key() for conn_id in conn_ids}


def register_keys(value: Any) -> None:
    """
    Read, and so register with the secrets masker, the keys that the ``mask`` transformations of the job specs in
    ``value`` (data: a spec, a registry row or rows; valid or not) hash with: before a spec that failed validation
    is stored (another transformation's expression may quote a key), and before registry rows are shown (rows
    stored before masking at write may hold one). Transformations that are not valid and keys that cannot be read
    are passed over.
    """
    for conn_id in dict.fromkeys(_key_conn_ids(value)):
        # best effort: the job reads its keys again when it runs, where a failure is recorded on its attempt (an
        # error here, such as a secrets backend that is down, would fail the task before it has an attempt)
        with suppress(Exception):
            EnterpriseMaskingKeyHook(conn_id).get_key()


def masked_for_showing(value: T) -> T:
    """Return registry rows ``value`` masked for the API or the CLI: with the keys their specs name registered."""
    register_keys(value)
    return redact(value)


def _key_conn_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        logic = value.get("processing_logic")
        transformations = logic.get("transformations") if isinstance(logic, dict) else None
        for raw in transformations if isinstance(transformations, list) else []:
            if isinstance(raw, dict) and raw.get("type") == "mask":
                try:
                    mask = MaskTransformation.model_validate(raw, context={"allow_templates": False})
                except ValidationError:
                    continue
                if mask.hashes:
                    yield mask.key_conn_id
        for item in value.values():
            yield from _key_conn_ids(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _key_conn_ids(item)
