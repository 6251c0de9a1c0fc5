"""
Pydantic models for job specs.

A spec is validated when the DAG is parsed. Values may contain Jinja (``{{ ... }}``): such a spec is
validated with ``allow_templates`` at parse time (templated expressions are checked for shape only) and
validated again in full after Airflow renders it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlglot import exp

from airflow_provider_enterprise.expressions import (
    AGGREGATE_SHORTHANDS,
    ExpressionError,
    ExpressionKind,
    parse_expression,
)

_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def contains_template(value: Any) -> bool:
    """Return True if ``value`` (a string, or any nesting of dicts and lists) holds Jinja markup."""
    if isinstance(value, str):
        return bool(_TEMPLATE_MARKERS.search(value))
    if isinstance(value, dict):
        return any(contains_template(k) or contains_template(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_template(v) for v in value)
    return False


def _templates_allowed(info: ValidationInfo, value: str) -> bool:
    return bool(info.context and info.context.get("allow_templates")) and contains_template(value)


def _check_expression(value: str, info: ValidationInfo, kind: ExpressionKind) -> str:
    if _templates_allowed(info, value):
        return value
    try:
        parse_expression(value, kind)
    except ExpressionError as err:
        raise ValueError(str(err)) from None
    return value


def _check_identifier(value: str, info: ValidationInfo) -> str:
    if _templates_allowed(info, value):
        return value
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a column name (letters, digits and underscores)")
    return value


class _StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineName(StrEnum):
    """Where a job runs."""

    SPARK = "spark"
    LOCAL = "local"
    AUTO = "auto"


class FileFormat(StrEnum):
    """File formats engines read and write."""

    CSV = "csv"
    PARQUET = "parquet"


class Priority(StrEnum):
    """The seed's job priorities."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


class FilterTransformation(_StrictModel):
    """Keep the rows for which ``condition`` is true."""

    type: Literal["filter"]
    condition: str

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str, info: ValidationInfo) -> str:
        return _check_expression(value, info, ExpressionKind.SCALAR)


class SelectTransformation(_StrictModel):
    """Keep only ``columns``, in that order."""

    type: Literal["select"]
    columns: list[str] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [_check_identifier(c, info) for c in value]


class Aggregation(_StrictModel):
    """One output column of a group-by: ``name`` = aggregate ``expression``."""

    name: str
    expression: str


class GroupByTransformation(_StrictModel):
    """
    Group by ``columns`` and compute ``aggregations``.

    Aggregations accept both shapes the seed's users write: ``{"total": "sum(amount)"}`` (output name ->
    aggregate expression) and ``{"amount": "sum"}`` (column -> function name, output keeps the column name).
    """

    type: Literal["groupby"]
    columns: list[str] = Field(min_length=1)
    aggregations: dict[str, str] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [_check_identifier(c, info) for c in value]

    @field_validator("aggregations")
    @classmethod
    def _aggregations(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for name, definition in value.items():
            _check_identifier(name, info)
            if not isinstance(definition, str) or not definition.strip():
                raise ValueError(f"aggregation {name!r} is empty")
            if definition.strip().lower() in AGGREGATE_SHORTHANDS or _templates_allowed(info, definition):
                continue
            try:
                tree = parse_expression(definition, ExpressionKind.AGGREGATE)
            except ExpressionError as err:
                raise ValueError(f"aggregation {name!r}: {err}") from None
            if tree.find(exp.AggFunc) is None:
                raise ValueError(
                    f"aggregation {name!r}: {definition!r} has no aggregate function; use one of "
                    f"{', '.join(AGGREGATE_SHORTHANDS)} or an expression such as 'sum(amount)'"
                )
        return value

    def normalized_aggregations(self) -> list[Aggregation]:
        """Return every aggregation as output name + aggregate expression."""
        result = []
        for name, definition in self.aggregations.items():
            shorthand = definition.strip().lower()
            if shorthand in AGGREGATE_SHORTHANDS:
                function = {"mean": "avg"}.get(shorthand, shorthand)
                expression = f"count(distinct `{name}`)" if function == "count_distinct" else f"{function}(`{name}`)"
            else:
                expression = definition
            result.append(Aggregation(name=name, expression=expression))
        return result


Transformation = Annotated[
    FilterTransformation | SelectTransformation | GroupByTransformation,
    Field(discriminator="type"),
]


class ProcessingLogic(_StrictModel):
    """
    An ordered list of transformations applied to the input.

    With ``checkpoint`` each transformation's result is committed as it completes, and a retry resumes after
    the last committed one (a stage is reused only while the input and every transformation up to it are
    unchanged).
    """

    transformations: list[Transformation] = Field(default_factory=list)
    checkpoint: bool = False


class JobSpec(_StrictModel):
    """Everything an engine needs to run one job."""

    job_name: str = Field(min_length=1, max_length=200)
    job_type: str = "data_processing"
    job_data: dict[str, Any] = Field(default_factory=dict)
    execution_engine: EngineName = EngineName.AUTO
    priority: Priority = Priority.NORMAL
    timeout: float | None = Field(default=None, gt=0, description="Seconds before the job is interrupted.")
    input_path: str = Field(min_length=1)
    output_path: str = Field(min_length=1)
    input_format: FileFormat | None = None
    output_format: FileFormat = FileFormat.PARQUET
    processing_logic: ProcessingLogic = Field(default_factory=ProcessingLogic)

    @model_validator(mode="after")
    def _distinct_paths(self) -> JobSpec:
        if self.input_path == self.output_path:
            raise ValueError(f"output_path must differ from input_path ({self.input_path!r})")
        return self

    def resolved_input_format(self) -> FileFormat:
        """Return ``input_format``, or the format named by the input path's suffix."""
        if self.input_format is not None:
            return self.input_format
        suffix = self.input_path.rsplit(".", 1)[-1].lower()
        if suffix in ("csv", "tsv", "txt"):
            return FileFormat.CSV
        if suffix in ("parquet", "pq"):
            return FileFormat.PARQUET
        raise ValueError(f"cannot infer input_format from {self.input_path!r}: set input_format")


class InvalidJobSpec(ValueError):
    """A job spec that failed validation; the message names each bad field and value."""


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts and parts[-1].startswith("[") and item in ("filter", "select", "groupby"):
            parts.append(f" ({item})")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def validate_job_spec(data: dict[str, Any], *, allow_templates: bool = False) -> JobSpec:
    """
    Validate ``data`` as a :class:`JobSpec`.

    :param data: the spec as plain data.
    :param allow_templates: accept values holding Jinja, checking them after rendering instead.
    :raises InvalidJobSpec: naming each bad field, the transformation index and the bad value.
    """
    try:
        return JobSpec.model_validate(data, context={"allow_templates": allow_templates})
    except ValidationError as err:
        lines = []
        for error in err.errors():
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            shown = "" if isinstance(value, dict | list) or repr(value) in message else f" (got {value!r})"
            lines.append(f"{_format_location(error['loc'])}: {message}{shown}")
        raise InvalidJobSpec(f"invalid job spec {data.get('job_name', '')!r}:\n  " + "\n  ".join(lines)) from None
