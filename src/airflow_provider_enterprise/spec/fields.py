"""
Field checks shared by the spec's models: column names, type names, expressions and Jinja templates.

Values holding Jinja are left for later at parse time (``allow_templates`` in the validation context) and
checked in full once Airflow has rendered them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo

from airflow_provider_enterprise.expressions import PLAIN_NAME, ExpressionError, ExpressionKind, parse_expression

_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%")
#: A decimal type, as users write it and as the spec keeps it (``decimal(10,2)``, ``decimal(10, 2)``).
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")


def contains_template(value: Any) -> bool:
    """Return True if ``value`` (a string, or any nesting of dicts and lists) holds Jinja markup."""
    if isinstance(value, str):
        return bool(_TEMPLATE_MARKERS.search(value))
    if isinstance(value, dict):
        return any(contains_template(k) or contains_template(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_template(v) for v in value)
    return False


def templates_allowed(info: ValidationInfo, value: str) -> bool:
    return bool(info.context and info.context.get("allow_templates")) and contains_template(value)


def check_expression(value: str, info: ValidationInfo, kind: ExpressionKind = ExpressionKind.SCALAR) -> str:
    """Validate ``value`` as an allow-listed expression (left for later when it holds a template)."""
    if templates_allowed(info, value):
        return value
    try:
        parse_expression(value, kind)
    except ExpressionError as err:
        raise ValueError(str(err)) from None
    return value


def check_identifier(value: str, info: ValidationInfo) -> str:
    """Validate ``value`` as a column name (left for later when it holds a template)."""
    if templates_allowed(info, value):
        return value
    if not isinstance(value, str) or not PLAIN_NAME.match(value):
        raise ValueError(f"{value!r} is not a column name (letters, digits and underscores)")
    return value


def check_identifiers(value: list[str], info: ValidationInfo) -> list[str]:
    names = [check_identifier(c, info) for c in value]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise ValueError(f"columns listed twice: {', '.join(duplicates)}")
    return names


class StrictModel(BaseModel):
    """A frozen model that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnType(StrEnum):
    """The types ``cast`` and input schemas accept (``decimal(p,s)`` is accepted besides these)."""

    STRING = "string"
    BOOLEAN = "boolean"
    INT = "int"
    BIGINT = "bigint"
    DOUBLE = "double"
    DATE = "date"
    TIMESTAMP = "timestamp"


def check_column_type(value: str) -> str:
    """Normalise a type name (``integer`` -> ``int``, ``long`` -> ``bigint``) or raise naming the allowed ones."""
    name = re.sub(r"\s+", "", str(value).strip().lower())
    name = {"integer": "int", "long": "bigint", "float64": "double", "float": "double", "bool": "boolean"}.get(
        name, name
    )
    if name in ColumnType.__members__.values() or DECIMAL_TYPE.match(name):
        match = DECIMAL_TYPE.match(name)
        if match and not (1 <= int(match[1]) <= 38 and int(match[2]) <= int(match[1])):
            raise ValueError(f"{value!r}: decimal precision must be 1-38 and scale at most the precision")
        return name.replace(",", ", ") if match else name
    allowed = ", ".join(t.value for t in ColumnType)
    raise ValueError(f"{value!r} is not a supported type; use one of {allowed} or decimal(p,s)")
