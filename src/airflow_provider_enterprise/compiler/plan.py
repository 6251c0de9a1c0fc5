"""
The compiler front end: a typed plan from a job's processing logic and its inputs' schemas.

The plan resolves every transformation against the columns it receives, so a column that does not exist, a
comparison of a string with a number or a sum over a string column is reported, naming the transformation
and the column, before any data is read. Both back ends (DuckDB SQL, Spark DataFrames) compile the same
plan, with the same column lists, tie-breakers and NULL ordering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from airflow_provider_enterprise.expressions import (
    NUMERIC_AGGREGATES,
    ExpressionKind,
    parse_expression,
    referenced_columns,
)
from airflow_provider_enterprise.spec.fields import DECIMAL_TYPE
from airflow_provider_enterprise.spec.models import JobSpec
from airflow_provider_enterprise.spec.transformations import (
    CastTransformation,
    DedupeTransformation,
    DeriveTransformation,
    DropTransformation,
    FilterTransformation,
    GroupByTransformation,
    JoinHow,
    JoinTransformation,
    LimitTransformation,
    MaskMethod,
    MaskTransformation,
    NullsOrder,
    ProcessingLogic,
    RenameTransformation,
    SelectTransformation,
    SortTransformation,
    UnionTransformation,
)

_NUMERIC = re.compile(r"^(tinyint|smallint|int|integer|bigint|hugeint|u\w*int|float|real|double|decimal.*)$")
_TEMPORAL = re.compile(r"^(date|timestamp.*|time.*|interval)$")
_BOOLEAN_NODES = (exp.Predicate, exp.Connector, exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike)


#: Nodes whose arguments (or branches) must share one type.
_SAME_TYPE_NODES = (exp.Coalesce, exp.Greatest, exp.Least, exp.Nullif, exp.If, exp.Case, exp.In)


def _same_type_arguments(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.If):
        return [node.args["true"], *([node.args["false"]] if node.args.get("false") else [])]
    if isinstance(node, exp.Case):
        return [i.args["true"] for i in node.args.get("ifs", [])] + (
            [node.args["default"]] if node.args.get("default") else []
        )
    if isinstance(node, exp.In):
        return [node.this, *node.expressions]
    return [node.this, *node.expressions] if node.expressions else [node.this, node.expression]


class PlanError(ValueError):
    """A transformation that does not fit the columns it receives."""


def expression_type(node: exp.Expr, columns: Sequence[Column]) -> str | None:
    """The type of expression ``node`` over ``columns`` where it is certain; None where it is not."""
    return _Resolver(-1, None, columns).type_of(node)


def normalize_type(engine_type: str | None) -> str | None:
    """Map an engine's type name (``VARCHAR``, ``BIGINT``, ``DECIMAL(10,2)``, ``StringType()``) to ours."""
    if engine_type is None:
        return None
    name = re.sub(r"\s+", "", str(engine_type).lower()).removesuffix("type()")
    name = {
        "varchar": "string",
        "text": "string",
        "integer": "int",
        "long": "bigint",
        "float": "double",
        "timestamp_ntz": "timestamp",
    }.get(name, name)
    return name.replace(",", ", ")


_DECLARABLE = {"string", "boolean", "int", "bigint", "double", "date", "timestamp"}


def declarable_type(engine_type: str) -> str:
    """An engine's (inferred) type as one of ours; a type we cannot declare is read as ``string``."""
    name = normalize_type(engine_type) or "string"
    return name if name in _DECLARABLE or name.startswith("decimal(") else "string"


def spark_type_name(type_name: str) -> str:
    """Our type name in Spark SQL (``timestamp`` has no time zone, as in DuckDB)."""
    return {"timestamp": "timestamp_ntz"}.get(type_name, type_name)


def data_type(type_name: str) -> exp.DataType:
    """Our type name as a sqlglot type, for any dialect."""
    return exp.DataType.build(spark_type_name(type_name), dialect="spark")


def decimal_digits(type_name: str | None) -> tuple[int, int] | None:
    """The precision and scale of our type name ``decimal(p, s)``; None for any other type."""
    match = DECIMAL_TYPE.match(type_name or "")
    return (int(match[1]), int(match[2])) if match else None


def is_numeric(type_name: str | None) -> bool:
    return bool(type_name and _NUMERIC.match(type_name))


@dataclass(frozen=True)
class Column:
    """A column of a relation: its name and type (None when it cannot be known before running)."""

    name: str
    type: str | None = None


@dataclass(frozen=True)
class Step:
    """
    One transformation, resolved: its position in the spec, the columns it produces and its expressions' checked
    trees (read-only; the back ends and lineage compile these, never the text again).
    """

    index: int
    transformation: object
    columns: tuple[Column, ...]
    trees: Mapping[str, exp.Expr] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def tree(self, text: str) -> exp.Expr:
        """The checked tree of expression ``text`` of this step's transformation."""
        return self.trees[text]


@dataclass(frozen=True)
class Plan:
    """Processing logic resolved against its inputs; the back ends compile it step by step."""

    primary: str
    inputs: Mapping[str, tuple[Column, ...]]
    steps: tuple[Step, ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        """The output's columns."""
        return self.steps[-1].columns if self.steps else self.inputs[self.primary]

    def columns_before(self, step: Step) -> tuple[Column, ...]:
        """The columns ``step`` receives."""
        return self.steps[step.index - 1].columns if step.index else self.inputs[self.primary]

    def operations(self, after: int | None = None) -> list[tuple[Step, LimitTransformation | None]]:
        """
        The steps after step ``after`` as the back ends run them: each step with the limit that follows it
        (a limit always follows a sort, and runs as that sort's ``LIMIT``).
        """
        steps = self.steps[0 if after is None else after + 1 :]
        paired = []
        for position, step in enumerate(steps):
            if isinstance(step.transformation, LimitTransformation):
                continue
            following = steps[position + 1].transformation if position + 1 < len(steps) else None
            paired.append((step, following if isinstance(following, LimitTransformation) else None))
        return paired

    def slice(self, first: int, last: int, source: str) -> Plan:
        """Return steps ``first``..``last`` as a plan of their own, reading the relation named ``source``."""
        steps = tuple(Step(s.index - first, s.transformation, s.columns, s.trees) for s in self.steps[first : last + 1])
        inputs = {**self.inputs, source: self.columns_before(self.steps[first])}
        return Plan(primary=source, inputs=inputs, steps=steps)


def tie_breakers(columns: Sequence[Column], ordered: Sequence[str]) -> list[str]:
    """The columns not in ``ordered``: appended to an ordering so that it is total."""
    return [c.name for c in columns if c.name not in ordered]


@dataclass(frozen=True)
class SortKey:
    """One key of a total order: a column, its direction and where its NULLs go."""

    column: str
    descending: bool
    nulls_first: bool


def sort_order(columns: Sequence[Column], sort: SortTransformation) -> list[SortKey]:
    """The order of ``sort``: its columns with explicit NULL placement, then every other column ascending."""
    nulls_first = sort.nulls is NullsOrder.FIRST
    keys = [SortKey(c, d, nulls_first) for c, d in zip(sort.by, sort.directions(), strict=True)]
    return keys + [SortKey(c, False, False) for c in tie_breakers(columns, sort.by)]


def join_sources(join: JoinTransformation, left: Sequence[Column], output: Sequence[Column]) -> list[tuple[str, str]]:
    """
    Where each output column of ``join`` comes from: ``"l"`` (the left rows), ``"r"`` (the right input) or
    ``"lr"`` (the first non-NULL of both: a shared key of a full join).
    """
    shared = set(join.on or []) if join.how not in (JoinHow.SEMI, JoinHow.ANTI) else set()
    left_names = {c.name for c in left}
    sources = []
    for column in output:
        if column.name in shared and join.how is JoinHow.FULL:
            sources.append((column.name, "lr"))
        elif column.name in shared and join.how is JoinHow.RIGHT:
            sources.append((column.name, "r"))
        else:
            sources.append((column.name, "l" if column.name in left_names else "r"))
    return sources


def dedupe_order(columns: Sequence[Column], dedupe: DedupeTransformation) -> list[SortKey]:
    """The window order of ``dedupe``: the kept row is the first (or last) in ascending, NULLs-last order."""
    order = list(dedupe.order_by or []) + tie_breakers(columns, [*(dedupe.order_by or []), *(dedupe.keys or [])])
    last = dedupe.keep == "last"
    return [SortKey(c, last, last) for c in order]


class _Resolver:
    def __init__(self, index: int, transformation: object, columns: Sequence[Column]) -> None:
        self.where = f"transformations[{index}] ({getattr(transformation, 'type', '?')})"
        self.columns = list(columns)
        self.by_name = {c.name: c for c in columns}
        self.trees: dict[str, exp.Expr] = {}

    def fail(self, message: str) -> PlanError:
        return PlanError(f"{self.where}: {message}")

    def require(self, names: Sequence[str], what: str = "column") -> None:
        for name in names:
            if name not in self.by_name:
                known = ", ".join(self.by_name) or "none"
                raise self.fail(f"{what} {name!r} does not exist (columns: {known})")

    def type_of(self, node: exp.Expr) -> str | None:
        """Infer an expression's type where that is certain; None where it is not."""
        if isinstance(node, exp.Paren):
            return self.type_of(node.this)
        if isinstance(node, exp.Column):
            column = self.by_name.get(node.name)
            return column.type if column else None
        if isinstance(node, exp.Literal):
            return "string" if node.is_string else ("bigint" if node.is_int else "double")
        if isinstance(node, exp.Boolean):
            return "boolean"
        if isinstance(node, exp.Cast):
            return normalize_type(node.to.sql("spark"))
        if isinstance(node, _BOOLEAN_NODES):
            return "boolean"
        if isinstance(node, exp.Count | exp.CountIf):
            return "bigint"
        if isinstance(node, NUMERIC_AGGREGATES):
            return "double"
        if isinstance(node, exp.Min | exp.Max):
            return self.type_of(node.this)
        if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Mod):
            left, right = self.type_of(node.this), self.type_of(node.expression)
            if is_numeric(left) and is_numeric(right):
                whole = left in ("int", "bigint") and right in ("int", "bigint")
                return "bigint" if whole and not isinstance(node, exp.Div) else "double"
            return None
        if isinstance(node, exp.Neg):
            return self.type_of(node.this)
        if isinstance(node, exp.Floor | exp.Ceil) and not node.args.get("decimals"):
            # Spark's floor() and ceil() of a whole number or a double are BIGINT (of a decimal: a decimal)
            return "bigint" if self.type_of(node.this) in ("int", "bigint", "double") else None
        if isinstance(node, _SAME_TYPE_NODES):
            known = [t for t in map(self.type_of, _same_type_arguments(node)) if t is not None]
            return known[0] if known and all(is_numeric(t) == is_numeric(known[0]) for t in known) else None
        if isinstance(node, exp.Lower | exp.Upper | exp.Trim | exp.Substring | exp.Concat | exp.DPipe):
            return "string"
        return None

    def check_expression(self, text: str, kind: ExpressionKind) -> exp.Expr:
        tree = parse_expression(text, kind)
        self.trees[text] = tree
        self.require(referenced_columns(tree))
        for node in tree.walk():
            if isinstance(node, NUMERIC_AGGREGATES):
                argument = self.type_of(node.this)
                if argument is not None and not is_numeric(argument):
                    name = node.this.name if isinstance(node.this, exp.Column) else node.this.sql("spark")
                    function = node.sql_name().lower() if isinstance(node, exp.Func) else node.key
                    raise self.fail(f"{function}() needs a number, but column {name!r} is {argument}")
            elif isinstance(node, exp.CountIf) and self.type_of(node.this) not in (None, "boolean"):
                condition = node.this.sql("spark")
                raise self.fail(f"count_if() needs a condition, but {condition!r} is {self.type_of(node.this)}")
            elif isinstance(node, _SAME_TYPE_NODES):
                kinds = {t for t in map(self.type_of, _same_type_arguments(node)) if t is not None}
                if any(is_numeric(t) for t in kinds) and "string" in kinds:
                    function = node.sql_name().lower() if isinstance(node, exp.Func) else type(node).__name__.upper()
                    raise self.fail(f"{function} mixes string and number values in {node.sql('spark')!r}")
            elif isinstance(node, exp.Binary) and isinstance(
                node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE | exp.Add | exp.Sub | exp.Mul | exp.Div
            ):
                self._check_operands(node)
        return tree

    def _check_operands(self, node: exp.Binary) -> None:
        left, right = self.type_of(node.this), self.type_of(node.expression)
        if left is None or right is None:
            return
        arithmetic = isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div)
        kinds = {("number" if is_numeric(t) else t) for t in (left, right)}
        if arithmetic and kinds - {"number"} and not kinds & {"date", "timestamp"}:
            raise self.fail(f"{node.sql('spark')!r} does arithmetic on {left} and {right}")
        if not arithmetic and "number" in kinds and "string" in kinds:
            raise self.fail(f"{node.sql('spark')!r} compares {left} with {right}; cast one side first")


def _step_columns(
    resolver: _Resolver, transformation: object, inputs: Mapping[str, Sequence[Column]]
) -> tuple[Column, ...]:
    columns = resolver.columns
    by_name = resolver.by_name
    if isinstance(transformation, FilterTransformation):
        tree = resolver.check_expression(transformation.condition, ExpressionKind.SCALAR)
        kind = resolver.type_of(tree)
        if kind is not None and kind != "boolean":
            raise resolver.fail(f"condition {transformation.condition!r} is {kind}, not a boolean")
        return tuple(columns)
    if isinstance(transformation, SelectTransformation):
        resolver.require(transformation.columns)
        return tuple(by_name[c] for c in transformation.columns)
    if isinstance(transformation, DropTransformation):
        resolver.require(transformation.columns)
        kept = tuple(c for c in columns if c.name not in transformation.columns)
        if not kept:
            raise resolver.fail("drops every column")
        return kept
    if isinstance(transformation, RenameTransformation):
        resolver.require(list(transformation.mapping))
        renamed = [Column(transformation.mapping.get(c.name, c.name), c.type) for c in columns]
        names = [c.name for c in renamed]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise resolver.fail(f"renaming gives two columns the name {', '.join(map(repr, clash))}")
        return tuple(renamed)
    if isinstance(transformation, DeriveTransformation):
        tree = resolver.check_expression(transformation.expression, ExpressionKind.SCALAR)
        derived = Column(transformation.column, resolver.type_of(tree))
        if transformation.column in by_name:
            return tuple(derived if c.name == transformation.column else c for c in columns)
        return (*columns, derived)
    if isinstance(transformation, CastTransformation):
        resolver.require(list(transformation.columns))
        return tuple(Column(c.name, transformation.columns.get(c.name, c.type)) for c in columns)
    if isinstance(transformation, GroupByTransformation):
        resolver.require(transformation.columns)
        outputs = [by_name[c] for c in transformation.columns]
        for aggregation in transformation.normalized_aggregations():
            tree = resolver.check_expression(aggregation.expression, ExpressionKind.AGGREGATE)
            outputs.append(Column(aggregation.name, resolver.type_of(tree)))
        if transformation.having is not None:
            grouped = _Resolver(0, transformation, outputs)
            grouped.check_expression(transformation.having, ExpressionKind.SCALAR)
            resolver.trees.update(grouped.trees)
        return tuple(outputs)
    if isinstance(transformation, DedupeTransformation):
        resolver.require(transformation.keys or [])
        resolver.require(transformation.order_by or [])
        return tuple(columns)
    if isinstance(transformation, SortTransformation):
        resolver.require(transformation.by)
        return tuple(columns)
    if isinstance(transformation, LimitTransformation):
        return tuple(columns)
    if isinstance(transformation, JoinTransformation):
        return _join_columns(resolver, transformation, inputs[transformation.right])
    if isinstance(transformation, UnionTransformation):
        return _union_columns(resolver, transformation, inputs)
    if isinstance(transformation, MaskTransformation):
        return _mask_columns(resolver, transformation)
    raise resolver.fail("unknown transformation")


#: Types whose text is the same on every engine, so ``hash`` and ``partial`` give the same result.
MASKABLE_AS_TEXT = ("string", "int", "bigint")


def _mask_columns(resolver: _Resolver, mask: MaskTransformation) -> tuple[Column, ...]:
    resolver.require(list(mask.columns))
    rules = mask.rules
    for name, rule in rules.items():
        kind = resolver.by_name[name].type
        if rule.method in (MaskMethod.HASH, MaskMethod.PARTIAL) and kind is not None and kind not in MASKABLE_AS_TEXT:
            raise resolver.fail(
                f"{rule.method.value} needs a string or integer column, but {name!r} is {kind}; cast it to string "
                "first (its text then decides the result)"
            )
    return tuple(
        Column(c.name, c.type if rules[c.name].method is MaskMethod.NULL else "string") if c.name in mask.columns else c
        for c in resolver.columns
    )


def _join_columns(resolver: _Resolver, join: JoinTransformation, right: Sequence[Column]) -> tuple[Column, ...]:
    right_names = {c.name: c for c in right}
    pairs = join.key_pairs()
    resolver.require([left for left, _ in pairs], "left key")
    for _, key in pairs:
        if key not in right_names:
            raise resolver.fail(f"right key {key!r} does not exist in input {join.right!r} ({', '.join(right_names)})")
    for left, key in pairs:
        left_type, right_type = resolver.by_name[left].type, right_names[key].type
        if left_type and right_type and is_numeric(left_type) != is_numeric(right_type):
            raise resolver.fail(f"key {left!r} is {left_type} but {join.right}.{key} is {right_type}")
    if join.how in (JoinHow.SEMI, JoinHow.ANTI):
        return tuple(resolver.columns)
    shared = {key for _, key in pairs} if join.on is not None else set()
    extra = [c for c in right if c.name not in shared]
    clash = sorted(c.name for c in extra if c.name in resolver.by_name)
    if clash:
        raise resolver.fail(f"columns {', '.join(map(repr, clash))} exist on both sides; rename them on one side first")
    return (*resolver.columns, *extra)


def _union_columns(
    resolver: _Resolver, union: UnionTransformation, inputs: Mapping[str, Sequence[Column]]
) -> tuple[Column, ...]:
    columns = list(resolver.columns)
    for name in union.inputs:
        other = inputs[name]
        if union.by_name:
            known = {c.name for c in columns}
            columns.extend(c for c in other if c.name not in known)
        elif len(other) != len(columns):
            raise resolver.fail(
                f"input {name!r} has {len(other)} columns and the rows so far have {len(columns)}; "
                "union by position needs the same number (or set by_name)"
            )
    return tuple(columns)


def build_plan(logic: ProcessingLogic, inputs: Mapping[str, Sequence[Column]], primary: str) -> Plan:
    """
    Resolve ``logic`` against the inputs' columns.

    :param logic: validated processing logic.
    :param inputs: every input's columns, by input name.
    :param primary: the input the transformations start from.
    :raises PlanError: naming the transformation and the column that does not fit.
    """
    frozen = {name: tuple(columns) for name, columns in inputs.items()}
    steps: list[Step] = []
    columns = frozen[primary]
    for index, transformation in enumerate(logic.transformations):
        resolver = _Resolver(index, transformation, columns)
        try:
            columns = _step_columns(resolver, transformation, frozen)
        except ValueError as err:
            if isinstance(err, PlanError):
                raise
            raise resolver.fail(str(err)) from None
        steps.append(Step(index, transformation, columns, resolver.trees))
    return Plan(primary=primary, inputs=frozen, steps=tuple(steps))


def plan_job(spec: JobSpec, inputs: Mapping[str, Sequence[Column]]) -> Plan:
    """
    Resolve a job's logic against its inputs' columns and check its output options against the result.

    :raises PlanError: naming the transformation (or ``partition_by``, or the check) and the column that does not fit.
    """
    plan = build_plan(spec.processing_logic, inputs, spec.primary_input)
    names = [c.name for c in plan.columns]
    missing = [c for c in spec.partition_by if c not in names]
    if missing:
        raise PlanError(f"partition_by: column {missing[0]!r} is not in the output (columns: {', '.join(names)})")
    if spec.partition_by and len(spec.partition_by) == len(names):
        raise PlanError("partition_by names every output column: no column would be left in the files")
    from airflow_provider_enterprise.compiler.checks import check_against_plan  # it builds on this module

    check_against_plan(spec.processing_logic, plan)
    return plan


def plan_from_declared_schemas(spec: JobSpec) -> Plan | None:
    """
    Resolve ``spec``'s logic against its inputs' declared schemas, before any data exists.

    :return: the plan, or None when an input has no declared schema (its columns are known only at run time).
    :raises PlanError: naming the transformation and the column that does not fit.
    """
    if any(source.column_types is None for source in spec.inputs.values()):
        return None
    declared = {
        name: tuple(Column(column, kind) for column, kind in (source.column_types or {}).items())
        for name, source in spec.inputs.items()
    }
    return plan_job(spec, declared)
