"""Parse, allow-list and transpile user expressions.

User expressions (filter conditions, derived values, aggregations) are written in Spark SQL, parsed with
sqlglot, and every node of the tree is checked against an allow-list before anything is generated. Engines
receive SQL generated from the checked tree, never the user's text.
"""

from __future__ import annotations

from enum import StrEnum

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

#: The dialect users write in (the seed's users wrote Spark SQL).
SOURCE_DIALECT = "spark"


class ExpressionKind(StrEnum):
    """Where an expression is used; aggregates are only allowed in aggregations."""

    SCALAR = "scalar"
    AGGREGATE = "aggregate"


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the allow-list."""


_STRUCTURAL_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.DataType,
    exp.Interval,
    exp.Var,
)

_OPERATOR_NODES: tuple[type[exp.Expression], ...] = (
    exp.EQ,
    exp.NEQ,
    exp.NullSafeEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Neg,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Is,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DPipe,
)

#: The fixed list of scalar functions users may call.
_SCALAR_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Abs,
    exp.Ceil,
    exp.Floor,
    exp.Round,
    exp.Sqrt,
    exp.Pow,
    exp.Ln,
    exp.Exp,
    exp.Coalesce,
    exp.Greatest,
    exp.Least,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Trim,
    exp.Substring,
    exp.Concat,
    exp.Year,
    exp.Month,
    exp.Day,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.TsOrDsToDate,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.Nullif,
)

_AGGREGATE_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Count,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Distinct,
    exp.Star,
)

_ALLOWED: dict[ExpressionKind, tuple[type[exp.Expression], ...]] = {
    ExpressionKind.SCALAR: _STRUCTURAL_NODES + _OPERATOR_NODES + _SCALAR_FUNCTIONS,
    ExpressionKind.AGGREGATE: _STRUCTURAL_NODES + _OPERATOR_NODES + _SCALAR_FUNCTIONS + _AGGREGATE_FUNCTIONS,
}

#: Names of the simple aggregation shorthand (``{"amount": "sum"}``).
AGGREGATE_SHORTHANDS = ("count", "count_distinct", "sum", "avg", "mean", "min", "max")


def _describe(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return f"function {node.name!r}"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()!r}"
    return f"{type(node).__name__} node"


def parse_expression(text: str, kind: ExpressionKind = ExpressionKind.SCALAR) -> exp.Expression:
    """
    Parse ``text`` as a Spark SQL expression and check every node against the allow-list.

    :param text: the user's expression.
    :param kind: whether aggregate functions are allowed.
    :return: the checked expression tree.
    :raises ExpressionError: naming the first disallowed construct.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    try:
        statements = sqlglot.parse(text, read=SOURCE_DIALECT)
    except ParseError as err:
        raise ExpressionError(f"cannot parse expression {text!r}: {err.errors[0]['description']}") from None
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionError(f"multiple statements are not allowed: {text!r}")
    tree = statements[0]
    if tree.comments or any(node.comments for node in tree.walk()):
        raise ExpressionError(f"comments are not allowed in expressions: {text!r}")
    allowed = _ALLOWED[kind]
    for node in tree.walk():
        if not isinstance(node, allowed) or isinstance(node, exp.Anonymous):
            hint = ""
            if kind is ExpressionKind.SCALAR and isinstance(node, exp.AggFunc):
                hint = " (aggregate functions belong in a groupby aggregation)"
            raise ExpressionError(f"{_describe(node)} is not allowed in expression {text!r}{hint}")
    if isinstance(tree, exp.Column) and isinstance(tree.this, exp.Star):
        raise ExpressionError(f"'*' is only allowed inside count(*): {text!r}")
    return tree


def referenced_columns(tree: exp.Expression) -> list[str]:
    """Return the column names an expression reads, in order of first use."""
    seen: dict[str, None] = {}
    for column in tree.find_all(exp.Column, bfs=False):
        seen.setdefault(column.name, None)
    return list(seen)


def to_sql(tree: exp.Expression, dialect: str) -> str:
    """Generate SQL for ``dialect`` (``duckdb`` or ``spark``) from a checked tree."""
    return tree.sql(dialect=dialect, identify=True)
