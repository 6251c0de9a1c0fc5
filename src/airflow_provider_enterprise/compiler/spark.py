"""
Compile a :class:`~airflow_provider_enterprise.compiler.plan.Plan` to a Spark DataFrame.

Expressions reach Spark as ``F.expr()`` over SQL generated from the allow-listed tree, rewritten by
:func:`~airflow_provider_enterprise.expressions.pin_semantics`; no user string reaches ``spark.sql()``. Column
lists, tie-breakers and NULL ordering come from the same plan as the DuckDB back end. The session must run
with :data:`SESSION_CONF` (ANSI semantics, case-sensitive names, UTC), which the Spark application sets.
No Airflow imports: this runs on Spark drivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce
from typing import TYPE_CHECKING

from sqlglot import exp

from airflow_provider_enterprise.compiler.masking import KEY_ALIAS, key_relation, masked
from airflow_provider_enterprise.compiler.plan import (
    Column,
    Plan,
    SortKey,
    Step,
    dedupe_order,
    expression_type,
    join_sources,
    sort_order,
    spark_type_name,
)
from airflow_provider_enterprise.expressions import to_sql
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

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame

    from airflow_provider_enterprise.spec.transformations import LimitTransformation

DIALECT = "spark"

#: Settings that make Spark compute what DuckDB computes (see docs/job-spec.md, "Semantics").
SESSION_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.caseSensitive": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.csv.parser.columnPruning.enabled": "false",
}

_JOIN_TYPES = {
    JoinHow.INNER: "inner",
    JoinHow.LEFT: "left",
    JoinHow.RIGHT: "right",
    JoinHow.FULL: "full_outer",
    JoinHow.SEMI: "left_semi",
    JoinHow.ANTI: "left_anti",
}


def _expr(tree: exp.Expr, columns: Sequence[Column]) -> SparkColumn:
    """A checked expression tree over ``columns`` as a Spark column, rewritten to compute the values every engine
    does."""
    from pyspark.sql import functions as F

    return F.expr(to_sql(tree, DIALECT, lambda node: expression_type(node, columns)))


def _col(name: str, table: str | None = None) -> SparkColumn:
    from pyspark.sql import functions as F

    return F.col(f"`{table}`.`{name}`" if table else f"`{name}`")


def _ordered(keys: Sequence[SortKey]) -> list[SparkColumn]:
    ordered = []
    for key in keys:
        column = _col(key.column)
        if key.descending:
            ordered.append(column.desc_nulls_first() if key.nulls_first else column.desc_nulls_last())
        else:
            ordered.append(column.asc_nulls_first() if key.nulls_first else column.asc_nulls_last())
    return ordered


def _step(
    plan: Plan, step: Step, df: DataFrame, frames: Mapping[str, DataFrame], limit: LimitTransformation | None
) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    t = step.transformation
    received = plan.columns_before(step)
    if isinstance(t, FilterTransformation):
        return df.filter(_expr(step.tree(t.condition), received))
    if isinstance(t, SelectTransformation | DropTransformation):
        return df.select(*(_col(c) for c in step.names))
    if isinstance(t, RenameTransformation):
        return df.select(*(_col(c.name).alias(t.mapping.get(c.name, c.name)) for c in received))
    if isinstance(t, DeriveTransformation):
        derived = _expr(step.tree(t.expression), received).alias(t.column)
        projections = [derived if c.name == t.column else _col(c.name) for c in received]
        if t.column not in {c.name for c in received}:
            projections.append(derived)
        return df.select(*projections)
    if isinstance(t, CastTransformation):
        return df.select(
            *(
                _col(c.name).cast(spark_type_name(t.columns[c.name])).alias(c.name)
                if c.name in t.columns
                else _col(c.name)
                for c in received
            )
        )
    if isinstance(t, GroupByTransformation):
        aggregates = [_expr(step.tree(a.expression), received).alias(a.name) for a in t.normalized_aggregations()]
        grouped = df.groupBy(*(_col(c) for c in t.columns)).agg(*aggregates)
        return grouped if t.having is None else grouped.filter(_expr(step.tree(t.having), step.columns))
    if isinstance(t, DedupeTransformation):
        if t.keys is None:
            return df.distinct()
        window = Window.partitionBy(*(_col(k) for k in t.keys)).orderBy(*_ordered(dedupe_order(received, t)))
        numbered = df.withColumn("__row_number", F.row_number().over(window))
        return numbered.filter(F.col("__row_number") == 1).select(*(_col(c) for c in step.names))
    if isinstance(t, SortTransformation):
        ordered = df.orderBy(*_ordered(sort_order(received, t)))
        return ordered.limit(limit.n) if limit else ordered
    if isinstance(t, JoinTransformation):
        return _join(t, df, frames[t.right], received, step)
    if isinstance(t, UnionTransformation):
        return _union(plan, t, df, frames, received, step)
    if isinstance(t, MaskTransformation):
        return _mask(t, df, frames, received)
    raise TypeError(f"no Spark compilation for {type(t).__name__}")


def _join(t: JoinTransformation, df: DataFrame, right: DataFrame, received: Sequence[Column], step: Step) -> DataFrame:
    from pyspark.sql import functions as F

    condition = reduce(lambda a, b: a & b, (_col(left, "l") == _col(key, "r") for left, key in t.key_pairs()))
    joined = df.alias("l").join(right.alias("r"), condition, _JOIN_TYPES[t.how])
    projections = [
        (F.coalesce(_col(name, "l"), _col(name, "r")) if side == "lr" else _col(name, side)).alias(name)
        for name, side in join_sources(t, received, step.columns)
    ]
    return joined.select(*projections)


def _mask(
    t: MaskTransformation, df: DataFrame, frames: Mapping[str, DataFrame], received: Sequence[Column]
) -> DataFrame:
    from pyspark.sql import functions as F
    from sqlglot import exp

    source = df.alias("s")
    if t.hashes:  # the padded keys are a one-row DataFrame: data in the plan, never SQL text
        source = source.crossJoin(F.broadcast(frames[key_relation(t.key_conn_id)]).alias(KEY_ALIAS))
    return source.select(
        *(
            F.expr(masked(exp.column(c.name, table="s", quoted=True), t.rules[c.name]).sql(DIALECT)).alias(c.name)
            if c.name in t.columns
            else _col(c.name, "s")
            for c in received
        )
    )


def _union(
    plan: Plan,
    t: UnionTransformation,
    df: DataFrame,
    frames: Mapping[str, DataFrame],
    received: Sequence[Column],
    step: Step,
) -> DataFrame:
    from pyspark.sql import functions as F

    def projection(frame: DataFrame, columns: Sequence[Column]) -> DataFrame:
        if not t.by_name:
            return frame
        present = {c.name for c in columns}
        return frame.select(*(_col(c.name) if c.name in present else F.lit(None).alias(c.name) for c in step.columns))

    result = projection(df, received)
    for name in t.inputs:
        result = result.union(projection(frames[name], plan.inputs[name]))
    return result


def compile_plan(plan: Plan, frames: Mapping[str, DataFrame]) -> DataFrame:
    """
    Return the DataFrame that computes ``plan``.

    :param plan: the resolved plan.
    :param frames: every input's DataFrame, by input name.
    """
    df = frames[plan.primary]
    for step, limit in plan.operations():
        df = _step(plan, step, df, frames, limit)
    return df
