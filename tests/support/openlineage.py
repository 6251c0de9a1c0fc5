"""
Check emitted OpenLineage events against the model ``openlineage-python`` ships.

``openlineage-python`` 1.54 ships no JSON Schema of the spec (``OpenLineage.json`` and the facets' schemas are
not in the wheel; ``openlineage-integration-common`` ships only a few dbt, BigQuery and Great Expectations facet
schemas). What it ships is ``openlineage.client.generated``: classes generated from those schemas, each with
the ``$id`` of its schema (``_get_schema()``), its required and optional fields and their types, and the
schemas' format checks (``eventTime`` a date-time, ``runId`` a UUID). :func:`check_event` rebuilds an event's
JSON with those classes: every field is present when required and of its type, enums hold one of their values,
each facet's ``_schemaURL`` is the one of the generated class it names (an unknown facet is checked as the base
facet), and no object other than a facet (whose schemas allow additional properties) has a field the spec does
not define.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import types
import typing
from typing import Any

import attr
import openlineage.client.generated as generated
from openlineage.client.generated.base import BaseFacet, RunEvent


def _facet_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseFacet) and attr.has(value):
                classes.setdefault(value._get_schema(), value)
    return classes


FACET_CLASSES = _facet_classes()


def _fail(path: str, message: str) -> AssertionError:
    return AssertionError(f"{path}: {message}")


def _build(kind: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            if len(options) == len(typing.get_args(kind)):
                raise _fail(path, "is null, which its schema does not allow")
            return None
        errors = []
        for option in options:
            try:
                return _build(option, value, path)
            except AssertionError as err:
                errors.append(str(err))
        raise _fail(path, f"matches none of {options}: {errors}")
    if origin is list:
        if not isinstance(value, list):
            raise _fail(path, f"is {type(value).__name__}, not an array")
        (item,) = typing.get_args(kind)
        return [_build(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(path, f"is {type(value).__name__}, not an object")
        _, item = typing.get_args(kind)
        return {k: _build(item, v, f"{path}.{k}") for k, v in value.items()}
    if kind is Any or kind is typing.Any:
        return value
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        if value not in {m.value for m in kind}:
            raise _fail(path, f"{value!r} is not one of {[m.value for m in kind]}")
        return kind(value)
    if isinstance(kind, type) and attr.has(kind):
        return _build_object(kind, value, path)
    expected = {str: str, int: int, float: (int, float), bool: bool}.get(kind)
    if expected is None:
        raise _fail(path, f"has a type this check does not know: {kind}")
    if not isinstance(value, expected) or (kind is int and isinstance(value, bool)):
        raise _fail(path, f"{value!r} is not a {kind.__name__}")
    return value


def _build_object(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(path, f"is {type(value).__name__}, not an object")
    is_facet = issubclass(cls, BaseFacet)
    if is_facet:
        url = value.get("_schemaURL")
        if not isinstance(url, str) or not isinstance(value.get("_producer"), str):
            raise _fail(path, "a facet needs the strings _producer and _schemaURL")
        cls = FACET_CLASSES.get(url, cls)
        if cls._get_schema() != url:  # an unknown facet: its base's fields only
            value = {k: v for k, v in value.items() if k in {"_producer", "_schemaURL"}}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in attr.fields(cls)}
    unknown = set(value) - set(fields)
    if unknown and not is_facet:
        raise _fail(path, f"has fields its schema does not define: {sorted(unknown)}")
    kwargs = {}
    for name, field in fields.items():
        if not field.init:
            if name in value and name == "schemaURL" and value[name] != cls._get_schema():
                raise _fail(path, f"schemaURL {value[name]!r} is not {cls._get_schema()!r}")
            continue
        if name not in value:
            if field.default is attr.NOTHING:
                raise _fail(path, f"misses the required field {name!r}")
            continue
        kwargs[field.alias] = _build(hints[name], value[name], f"{path}.{name}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as err:  # the generated validators: date-times, UUIDs, URLs
        raise _fail(path, f"{cls.__name__} refuses it: {err}") from err


def check_event(event: dict[str, Any]) -> RunEvent:
    """Rebuild a run event from its JSON with the generated classes; raise AssertionError naming what is wrong."""
    return _build_object(RunEvent, event, "event")
