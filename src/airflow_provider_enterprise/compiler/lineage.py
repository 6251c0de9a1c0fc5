"""
Column lineage from the plan: which input columns each output column is computed from, and how.

Follows OpenLineage's column lineage model: a *direct* origin is an input column whose values flow into the
output column, through an ``IDENTITY`` (copied, renamed, unioned), a ``TRANSFORMATION`` (an expression, a cast,
a mask) or an ``AGGREGATION``; an *indirect* origin is an input column that decides which rows there are
(``FILTER``, ``JOIN``, ``GROUP_BY``, ``SORT``, ``WINDOW`` for a dedupe's keys and order). No Airflow import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from airflow_provider_enterprise.compiler.plan import Plan, Step, join_sources
from airflow_provider_enterprise.expressions import referenced_columns
from airflow_provider_enterprise.spec.transformations import (
    CastTransformation,
    DedupeTransformation,
    DeriveTransformation,
    DropTransformation,
    FilterTransformation,
    GroupByTransformation,
    JoinHow,
    JoinTransformation,
    MaskTransformation,
    RenameTransformation,
    SelectTransformation,
    SortTransformation,
    UnionTransformation,
)


class Subtype(StrEnum):
    """OpenLineage's transformation subtypes: the direct ones first, weakest to strongest, then the indirect."""

    IDENTITY = "IDENTITY"
    TRANSFORMATION = "TRANSFORMATION"
    AGGREGATION = "AGGREGATION"
    FILTER = "FILTER"
    JOIN = "JOIN"
    GROUP_BY = "GROUP_BY"
    SORT = "SORT"
    WINDOW = "WINDOW"


_DIRECT_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}

#: An input column: (input name, column name).
Field = tuple[str, str]


@dataclass(frozen=True)
class Origin:
    """How an input column reaches an output column: the strongest subtype on its way, the steps, masked or not."""

    subtype: Subtype = Subtype.IDENTITY
    descriptions: tuple[str, ...] = ()
    masking: bool = False

    def then(self, subtype: Subtype, description: str | None = None, masking: bool = False) -> Origin:
        """This origin carried through one more direct step."""
        stronger = subtype if _DIRECT_RANK[subtype] > _DIRECT_RANK[self.subtype] else self.subtype
        steps = (*self.descriptions, description) if description else self.descriptions
        return Origin(stronger, steps, self.masking or masking)

    def merge(self, other: Origin) -> Origin:
        """One origin reached along two ways (a column used twice in an expression, a union's branches)."""
        merged = self.then(other.subtype, masking=other.masking)
        extra = tuple(d for d in other.descriptions if d not in merged.descriptions)
        return Origin(merged.subtype, (*merged.descriptions, *extra), merged.masking)


@dataclass(frozen=True)
class ColumnLineage:
    """
    The lineage of a job's output.

    :param fields: each output column's direct origins, by input column (output columns computed from no input
        column, such as ``count(*)`` or a literal, are absent).
    :param dataset: input columns that affect the output's rows as a whole, with the indirect subtypes.
    """

    fields: dict[str, dict[Field, Origin]]
    dataset: dict[Field, frozenset[Subtype]]


def _combine(origins: Iterable[dict[Field, Origin]]) -> dict[Field, Origin]:
    combined: dict[Field, Origin] = {}
    for origin in origins:
        for field, how in origin.items():
            combined[field] = combined[field].merge(how) if field in combined else how
    return combined


def _expression_columns(step: Step, text: str) -> list[str]:
    return referenced_columns(step.tree(text))


class _Tracker:
    """The origins of the current relation's columns, step by step."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.columns: dict[str, dict[Field, Origin]] = {
            c.name: {(plan.primary, c.name): Origin()} for c in plan.inputs[plan.primary]
        }
        self.dataset: dict[Field, set[Subtype]] = {}

    def indirect(
        self, names: Iterable[str], subtype: Subtype, source: dict[str, dict[Field, Origin]] | None = None
    ) -> None:
        for name in names:
            for field in (source or self.columns).get(name, {}):
                self.dataset.setdefault(field, set()).add(subtype)

    def derived(self, names: Iterable[str], subtype: Subtype, description: str) -> dict[Field, Origin]:
        """The origins of a column computed from columns ``names``."""
        combined = _combine(self.columns.get(name, {}) for name in names)
        return {field: how.then(subtype, description) for field, how in combined.items()}

    def step(self, step: Step) -> None:
        transformation, columns = step.transformation, self.columns
        if isinstance(transformation, FilterTransformation):
            self.indirect(_expression_columns(step, transformation.condition), Subtype.FILTER)
        elif isinstance(transformation, SelectTransformation):
            self.columns = {name: columns[name] for name in transformation.columns}
        elif isinstance(transformation, DropTransformation):
            self.columns = {n: o for n, o in columns.items() if n not in transformation.columns}
        elif isinstance(transformation, RenameTransformation):
            self.columns = {transformation.mapping.get(n, n): o for n, o in columns.items()}
        elif isinstance(transformation, DeriveTransformation):
            names = _expression_columns(step, transformation.expression)
            derived = self.derived(names, Subtype.TRANSFORMATION, transformation.expression)
            self.columns = {**columns, transformation.column: derived}
        elif isinstance(transformation, CastTransformation):
            for name, kind in transformation.columns.items():
                columns[name] = self.derived([name], Subtype.TRANSFORMATION, f"CAST({name} AS {kind})")
        elif isinstance(transformation, MaskTransformation):
            for name, rule in transformation.columns.items():
                method = getattr(rule, "method", rule)
                how = f"mask {name}: {getattr(method, 'value', method)}"
                columns[name] = {f: o.then(Subtype.TRANSFORMATION, how, True) for f, o in columns[name].items()}
        elif isinstance(transformation, GroupByTransformation):
            self.indirect(transformation.columns, Subtype.GROUP_BY)
            grouped = {name: columns[name] for name in transformation.columns}
            for aggregation in transformation.normalized_aggregations():
                names = _expression_columns(step, aggregation.expression)
                grouped[aggregation.name] = self.derived(names, Subtype.AGGREGATION, aggregation.expression)
            if transformation.having is not None:
                having = _expression_columns(step, transformation.having)
                self.indirect(having, Subtype.FILTER, source=grouped)
            self.columns = grouped
        elif isinstance(transformation, DedupeTransformation):
            self.indirect([*(transformation.keys or columns), *(transformation.order_by or [])], Subtype.WINDOW)
        elif isinstance(transformation, SortTransformation):
            self.indirect(transformation.by, Subtype.SORT)
        elif isinstance(transformation, JoinTransformation):
            self._join(transformation, step)
        elif isinstance(transformation, UnionTransformation):
            self._union(transformation)
        # a limit keeps the columns as they are (which rows it keeps is its sort's, recorded there)

    def _input(self, name: str) -> dict[str, dict[Field, Origin]]:
        return {c.name: {(name, c.name): Origin()} for c in self.plan.inputs[name]}

    def _join(self, join: JoinTransformation, step: Step) -> None:
        right = self._input(join.right)
        pairs = join.key_pairs()
        self.indirect([left for left, _ in pairs], Subtype.JOIN)
        self.indirect([key for _, key in pairs], Subtype.JOIN, source=right)
        if join.how in (JoinHow.SEMI, JoinHow.ANTI):
            return
        left = self.columns
        joined = {}
        for name, source in join_sources(join, self.plan.columns_before(step), step.columns):
            parts = ([left[name]] if "l" in source else []) + ([right[name]] if "r" in source else [])
            joined[name] = _combine(parts)
        self.columns = joined

    def _union(self, union: UnionTransformation) -> None:
        columns = dict(self.columns)
        for name in union.inputs:
            other = self._input(name)
            if union.by_name:
                for column, origins in other.items():
                    columns[column] = _combine([columns.get(column, {}), origins])
            else:
                for column, origins in zip(list(columns), other.values(), strict=True):
                    columns[column] = _combine([columns[column], origins])
        self.columns = columns


def column_lineage(plan: Plan) -> ColumnLineage:
    """Derive the lineage of ``plan``'s output columns from its steps."""
    tracker = _Tracker(plan)
    for step in plan.steps:
        tracker.step(step)
    fields = {name: origins for name, origins in tracker.columns.items() if origins}
    return ColumnLineage(fields=fields, dataset={f: frozenset(s) for f, s in tracker.dataset.items()})


def recorded_columns(plan: Plan) -> dict[str, list[list[str | None]]]:
    """The inputs' columns the plan was resolved against, as plain data (``[name, type]`` by input): what a job's
    result and manifest record, so that lineage can resolve the same plan again."""
    return {name: [[c.name, c.type] for c in columns] for name, columns in plan.inputs.items()}
