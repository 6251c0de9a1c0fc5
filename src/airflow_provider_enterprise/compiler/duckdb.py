"""
Compile :class:`~airflow_provider_enterprise.spec.ProcessingLogic` to DuckDB SQL.

The query is built as sqlglot trees (one CTE per transformation) from the allow-listed expression trees;
no user string is concatenated into SQL. The source relation is referenced by name and bound by the engine.
"""

from __future__ import annotations

from sqlglot import exp

from airflow_provider_enterprise.expressions import ExpressionKind, parse_expression
from airflow_provider_enterprise.spec import (
    FilterTransformation,
    GroupByTransformation,
    ProcessingLogic,
    SelectTransformation,
)

DIALECT = "duckdb"


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _step(transformation: object, source: str) -> exp.Select:
    base = exp.select("*").from_(exp.to_identifier(source, quoted=True))
    if isinstance(transformation, FilterTransformation):
        return base.where(parse_expression(transformation.condition, ExpressionKind.SCALAR))
    if isinstance(transformation, SelectTransformation):
        return exp.select(*(_column(c) for c in transformation.columns)).from_(exp.to_identifier(source, quoted=True))
    if isinstance(transformation, GroupByTransformation):
        keys = [_column(c) for c in transformation.columns]
        aggregates = [
            exp.alias_(parse_expression(a.expression, ExpressionKind.AGGREGATE), a.name, quoted=True)
            for a in transformation.normalized_aggregations()
        ]
        return (
            exp.select(*keys, *aggregates)
            .from_(exp.to_identifier(source, quoted=True))
            .group_by(*(_column(c) for c in transformation.columns))
        )
    raise TypeError(f"no DuckDB compilation for {type(transformation).__name__}")


def compile_query(logic: ProcessingLogic, source: str = "source") -> str:
    """
    Return one DuckDB ``SELECT`` that applies ``logic`` to the relation named ``source``.

    :param logic: validated processing logic.
    :param source: the name under which the engine registers the input relation.
    """
    query = exp.select("*").from_(exp.to_identifier(source, quoted=True))
    previous = source
    for index, transformation in enumerate(logic.transformations):
        name = f"step_{index}"
        query = query.with_(name, as_=_step(transformation, previous))
        previous = name
    return query.from_(exp.to_identifier(previous, quoted=True)).sql(dialect=DIALECT, identify=True)
