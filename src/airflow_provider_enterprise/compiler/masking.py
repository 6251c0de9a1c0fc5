"""
The ``mask`` transformation's values, as sqlglot trees both back ends generate from.

``hash`` is HMAC-SHA-256 (RFC 2104) built from the engines' SHA-256 over binary values:
``sha256(opad_key || unhex(sha256(ipad_key || utf8(value))))``. The two padded keys are computed here from the
key and reach the engines as data, never as SQL text: a one-row relation (:func:`key_relation`) the step
joins, with a DuckDB insert's bound parameters or a Spark DataFrame. Neither DuckDB nor Spark has an HMAC
function, and both compute the same hex digest from this tree. No Airflow imports: this runs on Spark drivers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from airflow_provider_enterprise.exceptions import MaskingKeyError
from airflow_provider_enterprise.spec.transformations import MaskMethod, MaskRule

#: SHA-256's block size: keys are padded (or first hashed) to it.
BLOCK_SIZE = 64

#: The key relation's columns: the key XOR 0x36 and XOR 0x5c, each padded to the block size.
INNER_PAD, OUTER_PAD = "inner_pad", "outer_pad"

#: The alias under which a mask step joins its key relation.
KEY_ALIAS = "__mask_key"

#: Environment variable that carries the keys to the Spark application (never its arguments or conf).
KEYS_ENV = "ENTERPRISE_MASKING_SECRET"


@dataclass(frozen=True)
class MaskingKey:
    """A hashing key and its version (the version is recorded with the result; the key never is)."""

    version: str
    secret: bytes = field(repr=False)

    def pads(self) -> tuple[bytes, bytes]:
        """Return the inner and outer padded keys of HMAC-SHA-256."""
        key = hashlib.sha256(self.secret).digest() if len(self.secret) > BLOCK_SIZE else self.secret
        key = key.ljust(BLOCK_SIZE, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def key_relation(conn_id: str) -> str:
    """The name under which the engine registers the padded keys of connection ``conn_id``."""
    return "__mask_key_" + hashlib.sha256(conn_id.encode()).hexdigest()[:12]


def dump_keys(keys: Mapping[str, MaskingKey]) -> str:
    """Encode keys by connection id for :data:`KEYS_ENV`."""
    return json.dumps(
        {conn_id: {"version": k.version, "key": base64.b64encode(k.secret).decode()} for conn_id, k in keys.items()}
    )


def load_keys(text: str | None) -> dict[str, MaskingKey]:
    """Decode :func:`dump_keys`' text (none: no keys)."""
    if not text:
        return {}
    return {c: MaskingKey(v["version"], base64.b64decode(v["key"])) for c, v in json.loads(text).items()}


def require_keys(conn_ids: list[str], keys: Mapping[str, MaskingKey]) -> dict[str, MaskingKey]:
    """Return the keys of ``conn_ids``; raise :class:`MaskingKeyError` naming the first one not given."""
    for conn_id in conn_ids:
        if conn_id not in keys:
            raise MaskingKeyError(
                f"mask hashes with the key of connection {conn_id!r}, but the engine was given no key for it: "
                f"define the Airflow connection {conn_id!r} with the key as its password (docs/job-spec.md, mask)"
            )
    return {conn_id: keys[conn_id] for conn_id in conn_ids}


def _pad(table: str, column: str) -> exp.Column:
    return exp.column(column, table=table, quoted=True)


def _sha256(value: exp.Expression) -> exp.Expression:
    return exp.SHA2(this=value, length=exp.Literal.number(256))


def hmac_sha256(message: exp.Expression, key_table: str = KEY_ALIAS) -> exp.Expression:
    """HMAC-SHA-256 of the binary ``message`` with the padded keys of ``key_table``, as lowercase hex."""
    inner = _sha256(exp.DPipe(this=_pad(key_table, INNER_PAD), expression=message))
    return _sha256(exp.DPipe(this=_pad(key_table, OUTER_PAD), expression=exp.Unhex(this=inner)))


def _as_text(column: exp.Expression) -> exp.Expression:
    return exp.Cast(this=column, to=exp.DataType.build("string", dialect="spark"))


def masked(column: exp.Expression, rule: MaskRule, key_table: str = KEY_ALIAS) -> exp.Expression:
    """The masked value of ``column`` (NULL stays NULL with every method)."""
    if rule.method is MaskMethod.NULL:
        return exp.Nullif(this=column, expression=column.copy())
    text = _as_text(column)
    if rule.method is MaskMethod.HASH:
        return hmac_sha256(exp.Encode(this=text, charset=exp.Literal.string("utf-8")), key_table)
    if rule.method is MaskMethod.REDACT:
        value: exp.Expression = exp.Literal.string(rule.redacted)
    else:
        kept = exp.Literal.number(rule.kept)
        hidden = exp.Greatest(
            this=exp.Sub(this=exp.Length(this=text.copy()), expression=kept), expressions=[exp.Literal.number(0)]
        )
        stars = exp.Repeat(this=exp.Literal.string("*"), times=hidden)
        value = exp.DPipe(this=stars, expression=exp.Right(this=text.copy(), expression=kept.copy()))
    return exp.If(this=exp.Is(this=column.copy(), expression=exp.Null()), true=exp.Null(), false=value)
