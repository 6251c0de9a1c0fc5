"""
The data-quality checks of ``processing_logic.checks``: one pydantic model per check type.

Each model checks what it can without data: column names, parameter types, regular expressions (a subset that
DuckDB's RE2 and Java's regex read alike). Whether a check's columns exist, and have a type it can judge, is the
plan's to say (:func:`airflow_provider_enterprise.compiler.checks.check_against_plan`). A check runs on the
output, or on the input its ``input`` names.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_provider_enterprise.spec.fields import (
    StrictModel,
    check_column_type,
    check_identifier,
    check_identifiers,
    templates_allowed,
)

_CHECK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class Severity(StrEnum):
    """What a failed check does: ``fail`` withholds the output and fails the job; ``warn`` publishes and records."""

    WARN = "warn"
    FAIL = "fail"


class SchemaMode(StrEnum):
    """``freeze``: exactly the expected columns; ``evolve``: the expected columns, and new ones may be added."""

    FREEZE = "freeze"
    EVOLVE = "evolve"


class _Check(StrictModel):
    name: str | None = None
    severity: Severity = Severity.FAIL
    input: str | None = None
    if TYPE_CHECKING:  # each check's own field (a Literal): declared here for the type checker only
        type: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _CHECK_NAME.match(value):
            raise ValueError(f"{value!r} is not a check name (letters, digits and underscores, at most 100)")
        return value

    @field_validator("input")
    @classmethod
    def _input(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_identifier(value, info)

    def subject(self) -> str:
        """The name part the default name derives from (the columns)."""
        return ""

    @property
    def check_name(self) -> str:
        """The check's ``name``, or ``<type>_<columns>[_<input>]``."""
        if self.name:
            return self.name
        parts = [self.type, self.subject(), self.input or ""]
        return "_".join(p for p in parts if p)[:100]

    @property
    def target(self) -> str:
        """What the check runs on: ``output``, or ``input:<name>``."""
        return f"input:{self.input}" if self.input else "output"

    def columns(self) -> list[str]:
        """The columns the check reads."""
        return []


class _ColumnCheck(_Check):
    column: str

    @field_validator("column")
    @classmethod
    def _column(cls, value: str, info: ValidationInfo) -> str:
        return check_identifier(value, info)

    def subject(self) -> str:
        return self.column

    def columns(self) -> list[str]:
        return [self.column]


class _RowCheck(_ColumnCheck):
    """A check that judges each row on its own: with ``keep_failing_rows`` the rows it failed are written beside the
    published output (:data:`FAILING_ROWS_DIR`), as JSON lines."""

    keep_failing_rows: bool = False


class NotNullCheck(_RowCheck):
    """No row has a NULL in ``column``."""

    type: Literal["not_null"]


class UniqueCheck(_Check):
    """No two rows share the values of ``columns`` (rows with a NULL in any of them are not compared, as in SQL)."""

    type: Literal["unique"]
    columns_: list[str] = Field(alias="columns", min_length=1)

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @field_validator("columns_")
    @classmethod
    def _columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_identifiers(value, info)

    def subject(self) -> str:
        return "_".join(self.columns_)

    def columns(self) -> list[str]:
        return list(self.columns_)


Value = StrictStr | StrictInt | StrictFloat | StrictBool


class AcceptedValuesCheck(_RowCheck):
    """Every non-NULL value of ``column`` is one of ``values`` (add a ``not_null`` check to refuse NULLs)."""

    type: Literal["accepted_values"]
    values: list[Value] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _one_kind(cls, value: list[Value]) -> list[Value]:
        kinds = {
            "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__ for v in value
        }
        if len(kinds) > 1:
            raise ValueError(f"values mix {' and '.join(sorted(kinds))}: give values of the column's one type")
        return value


class RangeCheck(_RowCheck):
    """Every non-NULL value of ``column`` lies between ``min`` and ``max`` (each bound inclusive unless set false)."""

    type: Literal["range"]
    min: StrictInt | StrictFloat | None = None
    max: StrictInt | StrictFloat | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeCheck:
        if self.min is None and self.max is None:
            raise ValueError("a range check needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class MatchesCheck(_RowCheck):
    """Every non-NULL value of ``column`` contains a match of ``pattern`` (anchor it with ``^...$`` for the whole
    value); the pattern is a subset of regular expressions DuckDB (RE2) and Spark (Java) read alike."""

    type: Literal["matches"]
    pattern: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str, info: ValidationInfo) -> str:
        if templates_allowed(info, value):
            return value
        check_portable_regex(value)
        return value


class RowCountCheck(_Check):
    """
    The number of rows is at least ``min`` and at most ``max``, and differs from the last successful run of the
    same task by at most ``max_change_pct`` percent. ``previous`` is filled in by the operator from the registry
    (no previous run: the change is not judged).
    """

    type: Literal["row_count"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    max_change_pct: float | None = Field(default=None, gt=0)
    previous: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCountCheck:
        if self.min is None and self.max is None and self.max_change_pct is None:
            raise ValueError("a row_count check needs min, max or max_change_pct")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class FreshnessCheck(_ColumnCheck):
    """
    The newest value of the date or timestamp ``column`` is at most ``max_age`` old (seconds, or ``"30m"``,
    ``"6h"``, ``"2d"``, ``"1w"``), measured from the run's ``data_interval_end`` (runs without one: ``run_after``)
    or from ``run_after`` (``against``). The operator fills in ``reference`` (outside a task: the current time).
    """

    type: Literal["freshness"]
    max_age: float | str
    against: Literal["data_interval_end", "run_after"] = "data_interval_end"
    reference: datetime | None = None

    @field_validator("max_age")
    @classmethod
    def _max_age(cls, value: float | str) -> float:
        match = _DURATION.match(str(value))
        if isinstance(value, bool) or not match or float(match[1]) <= 0:
            raise ValueError(f"max_age {value!r} is not a positive duration (seconds, or a number with s, m, h, d, w)")
        return float(match[1]) * _SECONDS[match[2]]

    @property
    def max_age_seconds(self) -> float:
        """``max_age`` as validated: seconds."""
        return float(self.max_age)


class SchemaCheck(_Check):
    """The checked rows have the ``columns`` given (name -> type); ``mode: evolve`` allows other columns too."""

    type: Literal["schema"]
    expected: dict[str, str] = Field(alias="columns", min_length=1)
    mode: SchemaMode = SchemaMode.FREEZE

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @field_validator("expected")
    @classmethod
    def _types(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        return {check_identifier(name, info): check_column_type(kind) for name, kind in value.items()}


Check = Annotated[
    NotNullCheck
    | UniqueCheck
    | AcceptedValuesCheck
    | RangeCheck
    | MatchesCheck
    | RowCountCheck
    | FreshnessCheck
    | SchemaCheck,
    Field(discriminator="type"),
]

#: The check types, in the order the docs list them.
CHECK_TYPES = (
    "not_null",
    "unique",
    "accepted_values",
    "range",
    "matches",
    "row_count",
    "freshness",
    "schema",
)

#: Checks that judge each row on its own (their failing rows can be counted, and kept).
ROW_LEVEL_TYPES = ("not_null", "accepted_values", "range", "matches")

#: Where a published output keeps the failing rows of a row-level check with ``keep_failing_rows`` (readers skip
#: names starting with ``_``), beside the quarantined input rows' ``_bad_rows``: ``<dir>/<check name>/part-0.jsonl``.
FAILING_ROWS_DIR = "_check_failures"


def failing_rows_file(name: str) -> str:
    """The failing rows' file of check ``name``, relative to the output."""
    return f"{FAILING_ROWS_DIR}/{name}/part-0.jsonl"


# -- regular expressions both engines read alike --------------------------------------------------------------

#: Escapes with the same meaning in RE2 and Java (escaped punctuation is literal in both).
_PORTABLE_ESCAPES = set("dDwWsStnrf") | set(r"\.^$|?*+()[]{}/-")
_QUANTIFIERS = {"*", "+", "?"}
_REPETITION = re.compile(r"\{\d+(,\d*)?\}")


class RegexError(ValueError):
    """A pattern outside the subset of regular expressions that DuckDB and Spark read alike."""


def check_portable_regex(pattern: str) -> None:
    """
    Refuse ``pattern`` unless it parses the same under RE2 (DuckDB) and Java (Spark): literals, ``.``, anchors
    ``^ $``, classes ``[...]`` (ranges, negation, the escapes below), groups ``(...)`` and ``(?:...)``, ``|``,
    quantifiers ``* + ? {n} {n,} {n,m}`` and their lazy forms, escapes ``\\d \\D \\w \\W \\s \\S \\t \\n \\r
    \\f`` and escaped punctuation. Not: back-references, look-around, possessive or atomic groups, named
    groups, inline flags, POSIX classes, ``\\p{...}``, class unions or intersections.

    :raises RegexError: naming the construct and its position.
    """

    def refuse(position: int, what: str) -> RegexError:
        return RegexError(f"pattern {pattern!r}: {what} at position {position} is not read alike by DuckDB and Spark")

    position, quantified = 0, False
    while position < len(pattern):
        char = pattern[position]
        if quantified and char in _QUANTIFIERS | {"{"}:
            if char != "?":
                raise refuse(position, "a quantifier of a quantifier (possessive)")
            position, quantified = position + 1, False  # a lazy quantifier
            continue
        quantified = False
        if char == "\\":
            escape = pattern[position + 1 : position + 2]
            if escape not in _PORTABLE_ESCAPES:
                raise refuse(position, f"the escape \\{escape}")
            position += 2
        elif char == "[":
            position = _class_end(pattern, position, refuse)
        elif char == "(":
            if pattern.startswith("(?", position) and not pattern.startswith("(?:", position):
                raise refuse(position, "a group with options (look-around, named, atomic, flags)")
            position += 3 if pattern.startswith("(?:", position) else 1
        elif char == "{":
            repetition = _REPETITION.match(pattern, position)
            if repetition is None:
                raise refuse(position, "a '{' that is not a repetition {n}, {n,} or {n,m} (escape it)")
            position, quantified = repetition.end(), True
        else:
            position, quantified = position + 1, char in _QUANTIFIERS

    try:
        with warnings.catch_warnings():  # Python's warnings of what later versions read differently
            warnings.simplefilter("error", FutureWarning)
            re.compile(pattern)
    except (re.error, FutureWarning) as err:
        raise RegexError(f"pattern {pattern!r} does not compile: {err}") from None


def _class_end(pattern: str, start: int, refuse: Callable[[int, str], RegexError]) -> int:
    """Check the character class at ``start``; return the position after it."""
    position = start + 1
    if pattern.startswith("^", position):
        position += 1
    if pattern.startswith("]", position):  # a literal ] first: Java reads it differently
        raise refuse(position, "a ']' first in a class (escape it)")
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            escape = pattern[position + 1 : position + 2]
            if escape not in _PORTABLE_ESCAPES:
                raise refuse(position, f"the escape \\{escape} in a class")
            position += 2
            continue
        if char == "[":
            raise refuse(position, "a '[' inside a class (POSIX class or union; escape it)")
        if pattern.startswith("&&", position):
            raise refuse(position, "'&&' in a class (an intersection in Java)")
        if char == "]":
            return position + 1
        position += 1
    raise refuse(start, "an unclosed class")
