"""
The transformation vocabulary of ``processing_logic``: one pydantic model per transformation type.

Each model checks what it can without data: identifiers, expressions (parsed and allow-listed), and the
shape of its fields. Checks that need the input's columns (a column that does not exist, an aggregate over
a string) belong to the plan front end (:mod:`airflow_provider_enterprise.compiler.plan`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlglot import exp

from airflow_provider_enterprise.expressions import (
    AGGREGATE_SHORTHANDS,
    ExpressionError,
    ExpressionKind,
    parse_expression,
)
from airflow_provider_enterprise.spec.checks import Check
from airflow_provider_enterprise.spec.fields import (
    StrictModel,
    check_column_type,
    check_expression,
    check_identifier,
    check_identifiers,
    templates_allowed,
)


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


class NullsOrder(StrEnum):
    """Where NULLs sort; always explicit, since DuckDB and Spark default differently."""

    FIRST = "first"
    LAST = "last"


class FilterTransformation(StrictModel):
    """Keep the rows for which ``condition`` is true (NULL counts as false)."""

    type: Literal["filter"]
    condition: str

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str, info: ValidationInfo) -> str:
        return check_expression(value, info)


class _ColumnList(StrictModel):
    columns: list[str] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_identifiers(value, info)


class SelectTransformation(_ColumnList):
    """Keep only ``columns``, in that order."""

    type: Literal["select"]


class DropTransformation(_ColumnList):
    """Remove ``columns``; the others keep their order."""

    type: Literal["drop"]


class RenameTransformation(StrictModel):
    """Rename columns: ``mapping`` is old name -> new name."""

    type: Literal["rename"]
    mapping: dict[str, str] = Field(min_length=1)

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        check_identifiers(list(value), info)
        check_identifiers(list(value.values()), info)
        return value


class DeriveTransformation(StrictModel):
    """
    Add (or replace) ``column`` with the value of ``expression``.

    The seed's ``add_column`` is accepted as another name for ``derive``.
    """

    type: Literal["derive", "add_column"]
    column: str
    expression: str

    @field_validator("column")
    @classmethod
    def _column(cls, value: str, info: ValidationInfo) -> str:
        return check_identifier(value, info)

    @field_validator("expression")
    @classmethod
    def _expression(cls, value: str, info: ValidationInfo) -> str:
        return check_expression(value, info)


class CastTransformation(StrictModel):
    """Convert columns to types: ``columns`` is name -> type. A value that does not convert fails the job."""

    type: Literal["cast"]
    columns: dict[str, str] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        check_identifiers(list(value), info)
        return {name: check_column_type(kind) for name, kind in value.items()}


class Aggregation(StrictModel):
    """One output column of a group-by: ``name`` = aggregate ``expression``."""

    name: str
    expression: str


class GroupByTransformation(StrictModel):
    """
    Group by ``columns``, compute ``aggregations``, then keep the groups for which ``having`` is true.

    Aggregations accept both shapes the seed's users write: ``{"total": "sum(amount)"}`` (output name ->
    aggregate expression) and ``{"amount": "sum"}`` (column -> function name, output keeps the column name).
    ``having`` is a condition over the output columns (the keys and the aggregation names).
    """

    type: Literal["groupby"]
    columns: list[str] = Field(default_factory=list)
    aggregations: dict[str, str] = Field(min_length=1)
    having: str | None = None

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_identifiers(value, info)

    @field_validator("having")
    @classmethod
    def _having(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_expression(value, info)

    @field_validator("aggregations")
    @classmethod
    def _aggregations(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for name, definition in value.items():
            check_identifier(name, info)
            if not isinstance(definition, str) or not definition.strip():
                raise ValueError(f"aggregation {name!r} is empty")
            if definition.strip().lower() in AGGREGATE_SHORTHANDS or templates_allowed(info, definition):
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

    @model_validator(mode="after")
    def _distinct_outputs(self) -> GroupByTransformation:
        clash = sorted(set(self.columns) & set(self.aggregations))
        if clash:
            raise ValueError(f"aggregation names repeat group-by columns: {', '.join(clash)}")
        return self

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


class DedupeTransformation(StrictModel):
    """
    Keep one row per distinct ``keys`` (all columns when omitted).

    With ``keys``, ``order_by`` says which row is kept: the first or the ``keep="last"`` in that order. The
    remaining columns break ties, so the result never depends on the engine or on partitioning.
    """

    type: Literal["dedupe"]
    keys: list[str] | None = Field(default=None, min_length=1)
    keep: Literal["first", "last"] = "first"
    order_by: list[str] | None = Field(default=None, min_length=1)

    @field_validator("keys", "order_by")
    @classmethod
    def _columns(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return None if value is None else check_identifiers(value, info)

    @model_validator(mode="after")
    def _deterministic(self) -> DedupeTransformation:
        if self.keys is not None and self.order_by is None:
            raise ValueError(
                "order_by is required with keys: which row is kept must not depend on the engine "
                "(omit keys to drop duplicate rows)"
            )
        if self.keys is None and self.order_by is not None:
            raise ValueError("order_by needs keys (without keys, whole duplicate rows are dropped)")
        return self


class SortTransformation(StrictModel):
    """
    Order rows by ``by``. ``descending`` is one flag or one per column; NULLs sort ``nulls`` (last by default).

    The remaining columns are appended as ascending tie-breakers, so the order is total and a following
    ``limit`` keeps the same rows on every engine.
    """

    type: Literal["sort"]
    by: list[str] = Field(min_length=1)
    descending: bool | list[bool] = False
    nulls: NullsOrder = NullsOrder.LAST

    @field_validator("by")
    @classmethod
    def _by(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_identifiers(value, info)

    @model_validator(mode="after")
    def _directions(self) -> SortTransformation:
        if isinstance(self.descending, list) and len(self.descending) != len(self.by):
            raise ValueError(f"descending has {len(self.descending)} flags for {len(self.by)} sort columns")
        return self

    def directions(self) -> list[bool]:
        """Return one descending flag per sort column."""
        return list(self.descending) if isinstance(self.descending, list) else [self.descending] * len(self.by)


class LimitTransformation(StrictModel):
    """Keep the first ``n`` rows of the preceding ``sort`` (a limit without a sort is refused)."""

    type: Literal["limit"]
    n: int = Field(ge=0)


class JoinHow(StrEnum):
    INNER = "inner"
    LEFT = "left"
    RIGHT = "right"
    FULL = "full"
    SEMI = "semi"
    ANTI = "anti"


class JoinTransformation(StrictModel):
    """
    Join the current rows with the named input ``right``.

    ``on`` names key columns both sides share (they appear once in the output); ``left_on`` and ``right_on``
    pair differently named keys (both are kept). Other columns present on both sides are refused: rename
    them first. ``semi`` and ``anti`` keep the left rows that have (or have not) a match.
    """

    type: Literal["join"]
    right: str
    on: list[str] | None = Field(default=None, min_length=1)
    left_on: list[str] | None = Field(default=None, min_length=1)
    right_on: list[str] | None = Field(default=None, min_length=1)
    how: JoinHow = JoinHow.INNER

    @field_validator("right")
    @classmethod
    def _right(cls, value: str, info: ValidationInfo) -> str:
        return check_identifier(value, info)

    @field_validator("on", "left_on", "right_on")
    @classmethod
    def _keys(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return None if value is None else check_identifiers(value, info)

    @model_validator(mode="after")
    def _key_shape(self) -> JoinTransformation:
        if self.on is not None:
            if self.left_on is not None or self.right_on is not None:
                raise ValueError("use either on or left_on + right_on, not both")
        elif self.left_on is None or self.right_on is None:
            raise ValueError("a join needs on, or both left_on and right_on")
        elif len(self.left_on) != len(self.right_on):
            raise ValueError(f"left_on has {len(self.left_on)} columns and right_on {len(self.right_on)}")
        return self

    def key_pairs(self) -> list[tuple[str, str]]:
        """Return (left column, right column) for every join key."""
        if self.on is not None:
            return [(key, key) for key in self.on]
        return list(zip(self.left_on or [], self.right_on or [], strict=True))


class UnionTransformation(StrictModel):
    """
    Append the rows of the named ``inputs`` (duplicates kept).

    ``by_name`` matches columns by name (a column missing from one side is NULL there); otherwise by position,
    and every input must have as many columns as the current rows.
    """

    type: Literal["union"]
    inputs: list[str] = Field(min_length=1)
    by_name: bool = True

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_identifiers(value, info)


#: The Airflow connection that holds the hashing key of ``mask`` when the spec names none.
DEFAULT_MASKING_CONN_ID = "enterprise_masking_default"


class MaskMethod(StrEnum):
    """How ``mask`` hides a column's values (NULL stays NULL with every method)."""

    HASH = "hash"
    REDACT = "redact"
    PARTIAL = "partial"
    NULL = "null"


class MaskRule(StrictModel):
    """
    One column's masking: ``hash`` (keyed HMAC-SHA-256, lowercase hex), ``redact`` (``replacement``),
    ``partial`` (``*`` for all but the last ``keep_last`` characters) or ``null``.
    """

    method: MaskMethod
    keep_last: int | None = Field(default=None, ge=0, le=64)
    replacement: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _options_fit_the_method(self) -> MaskRule:
        if self.keep_last is not None and self.method is not MaskMethod.PARTIAL:
            raise ValueError(f"keep_last applies to method 'partial', not {self.method.value!r}")
        if self.replacement is not None and self.method is not MaskMethod.REDACT:
            raise ValueError(f"replacement applies to method 'redact', not {self.method.value!r}")
        return self

    @property
    def kept(self) -> int:
        """The characters ``partial`` keeps."""
        return 4 if self.keep_last is None else self.keep_last

    @property
    def redacted(self) -> str:
        """The text ``redact`` writes."""
        return "[REDACTED]" if self.replacement is None else self.replacement


class MaskTransformation(StrictModel):
    """
    Hide sensitive values: ``columns`` is name -> method (``"hash"``) or rule (``{"method": "partial",
    "keep_last": 4}``).

    ``hash`` is HMAC-SHA-256 with the key of the Airflow connection ``key_conn_id`` (its password; the key
    never appears in the spec, the SQL, the logs or the registry), so equal values hash equally across jobs
    and engines while the key stays the same. The connection's login names the key's version, which the job
    result records; rotating the key means a new connection value with a new version.
    """

    type: Literal["mask"]
    columns: dict[str, MaskRule] = Field(min_length=1)
    key_conn_id: str = Field(default=DEFAULT_MASKING_CONN_ID, pattern=r"^[A-Za-z0-9_.-]{1,250}$")

    @field_validator("columns", mode="before")
    @classmethod
    def _bare_methods(cls, value: Any) -> Any:
        """A bare method is the rule of that method with its defaults (one shape, so errors name one field)."""
        if not isinstance(value, dict):
            return value
        return {name: {"method": rule} if isinstance(rule, str) else rule for name, rule in value.items()}

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, MaskRule], info: ValidationInfo) -> dict[str, MaskRule]:
        check_identifiers(list(value), info)
        return value

    @property
    def rules(self) -> dict[str, MaskRule]:
        """``columns`` as validated, typed: each column's rule."""
        return self.columns

    @property
    def hashes(self) -> bool:
        """Whether a column is hashed (the job then needs the key)."""
        return any(rule.method is MaskMethod.HASH for rule in self.rules.values())


Transformation = Annotated[
    FilterTransformation
    | SelectTransformation
    | DropTransformation
    | RenameTransformation
    | DeriveTransformation
    | CastTransformation
    | GroupByTransformation
    | DedupeTransformation
    | SortTransformation
    | LimitTransformation
    | JoinTransformation
    | UnionTransformation
    | MaskTransformation,
    Field(discriminator="type"),
]

#: Every ``type`` value the vocabulary accepts.
TRANSFORMATION_TYPES = (
    "filter",
    "select",
    "drop",
    "rename",
    "derive",
    "add_column",
    "cast",
    "groupby",
    "dedupe",
    "sort",
    "limit",
    "join",
    "union",
    "mask",
)


class ProcessingLogic(StrictModel):
    """
    An ordered list of transformations applied to the primary input, and the data-quality checks of the result
    (:mod:`airflow_provider_enterprise.spec.checks`).

    With ``checkpoint`` each transformation's result is committed as it completes, and a retry resumes after
    the last committed one (a stage is reused only while the input and every transformation up to it are
    unchanged).
    """

    transformations: list[Transformation] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    checkpoint: bool = False

    @field_validator("checks")
    @classmethod
    def _check_names(cls, value: list[Check]) -> list[Check]:
        names = [c.check_name for c in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"checks named twice: {', '.join(twice)} (give each a name of its own)")
        return value

    @model_validator(mode="after")
    def _limits_follow_sorts(self) -> ProcessingLogic:
        for index, transformation in enumerate(self.transformations):
            if isinstance(transformation, LimitTransformation):
                before = self.transformations[index - 1] if index else None
                if not isinstance(before, SortTransformation):
                    raise ValueError(
                        f"transformations[{index}] (limit) must follow a sort: which rows a limit keeps "
                        "must not depend on the engine"
                    )
        return self

    def _input_references(self) -> Iterator[str]:
        for transformation in self.transformations:
            if isinstance(transformation, JoinTransformation):
                yield transformation.right
            elif isinstance(transformation, UnionTransformation):
                yield from transformation.inputs

    def named_inputs(self) -> list[str]:
        """Return the named inputs the transformations refer to (joins and unions), in order of use."""
        return list(dict.fromkeys(self._input_references()))

    def input_reads(self, primary: str) -> Counter[str]:
        """Return how often the transformations read each input, ``primary`` (the one they start from) included."""
        return Counter([primary, *self._input_references()])

    def masking_key_conn_ids(self) -> list[str]:
        """Return the connections whose keys the ``mask`` transformations hash with, in order of use."""
        return list(
            dict.fromkeys(t.key_conn_id for t in self.transformations if isinstance(t, MaskTransformation) and t.hashes)
        )
