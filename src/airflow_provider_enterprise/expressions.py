"""Parse, allow-list and transpile user expressions.

User expressions (filter conditions, derived values, aggregations) are written in Spark SQL, parsed with
sqlglot, and every node of the tree is checked against an allow-list before anything is generated. Engines
receive SQL generated from the checked tree, never the user's text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from enum import StrEnum

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

#: The dialect users write in (the seed's users wrote Spark SQL).
SOURCE_DIALECT = "spark"


class ExpressionKind(StrEnum):
    """Where an expression is used; aggregates are only allowed in aggregations."""

    SCALAR = "scalar"
    AGGREGATE = "aggregate"


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the allow-list."""


_STRUCTURAL_NODES: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
)

_OPERATOR_NODES: tuple[type[exp.Expr], ...] = (
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
_SCALAR_FUNCTIONS: tuple[type[exp.Expr], ...] = (
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
    exp.Mod,
    exp.SafeDivide,
    exp.RegexpLike,
    exp.DateDiff,
    exp.TsOrDsAdd,
    exp.Quarter,
    exp.DayOfWeek,
    exp.Hour,
    exp.Minute,
    exp.Second,
    exp.Sign,
    exp.Log,
    exp.Left,
    exp.Right,
    exp.StartsWith,
    exp.Replace,
)

#: Aggregates whose argument must be a number.
NUMERIC_AGGREGATES: tuple[type[exp.Expr], ...] = (
    exp.Sum,
    exp.Avg,
    exp.Stddev,
    exp.StddevSamp,
    exp.StddevPop,
    exp.Variance,
    exp.VariancePop,
    exp.Median,
    exp.Quantile,
    exp.ApproxQuantile,
)

_AGGREGATE_FUNCTIONS: tuple[type[exp.Expr], ...] = NUMERIC_AGGREGATES + (
    exp.Count,
    exp.Min,
    exp.Max,
    exp.Distinct,
    exp.Star,
    exp.CountIf,
    exp.ApproxDistinct,
)

_ALLOWED: dict[ExpressionKind, tuple[type[exp.Expr], ...]] = {
    ExpressionKind.SCALAR: _STRUCTURAL_NODES + _OPERATOR_NODES + _SCALAR_FUNCTIONS,
    ExpressionKind.AGGREGATE: _STRUCTURAL_NODES + _OPERATOR_NODES + _SCALAR_FUNCTIONS + _AGGREGATE_FUNCTIONS,
}

#: Names of the simple aggregation shorthand (``{"amount": "sum"}``).
AGGREGATE_SHORTHANDS = ("count", "count_distinct", "sum", "avg", "mean", "min", "max", "stddev", "median")

#: Names users may give columns, and the only text identifiers and keywords may hold (this refuses unicode
#: look-alike quotes, which sqlglot reads as part of an identifier).
#: A plain name (a column, a function): the only names expressions and the spec accept.
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return f"function {node.name!r}"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()!r}"
    return f"{type(node).__name__} node"


#: How deep parentheses (groups, function calls, lists), brackets and CASE blocks may nest in one expression.
#: Parsing and generating SQL recurse once per level (about 20 Python frames each): this limit keeps the deepest
#: accepted expression well inside Python's recursion limit wherever it is validated.
MAX_NESTING = 24

_OPENING = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.CASE})
_CLOSING = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.END})


def _nesting(tokens: list[Token]) -> int:
    """The deepest nesting of parentheses, brackets and CASE blocks among ``tokens``."""
    depth = deepest = 0
    for token in tokens:
        if token.token_type in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type in _CLOSING:
            depth -= 1
    return deepest


def parse_expression(text: str, kind: ExpressionKind = ExpressionKind.SCALAR) -> exp.Expr:
    """
    Parse ``text`` as a Spark SQL expression and check every node against the allow-list.

    Each text is parsed once per process: validation, planning, compilation and lineage share one tree, so the
    tree is read-only (:func:`pin_semantics` copies before it rewrites).

    :param text: the user's expression.
    :param kind: whether aggregate functions are allowed.
    :return: the checked expression tree.
    :raises ExpressionError: naming the first disallowed construct.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    tree = _parsed(text)
    try:
        check_tree(tree, kind, text)
    except RecursionError:
        raise ExpressionError(_too_deep(text)) from None
    return tree


def _too_deep(text: str) -> str:
    return f"nesting deeper than {MAX_NESTING} levels (parentheses, function calls, CASE) in expression {text!r}"


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> exp.Expr:
    """The one statement of ``text``, tokenised and parsed once (a failure is not cached: it raises again)."""
    too_deep = _too_deep(text)
    dialect = Dialect.get_or_raise(SOURCE_DIALECT)
    try:
        tokens = dialect.tokenize(text)
        if _nesting(tokens) > MAX_NESTING:
            raise ExpressionError(too_deep)
        statements = dialect.parser().parse(tokens, text)
        if len(statements) != 1 or statements[0] is None or any(t.token_type is TokenType.SEMICOLON for t in tokens):
            raise ExpressionError(f"multiple statements are not allowed: {text!r}")
        return statements[0]
    except ParseError as err:
        raise ExpressionError(f"cannot parse expression {text!r}: {err.errors[0]['description']}") from None
    except TokenError as err:
        raise ExpressionError(f"cannot parse expression {text!r}: {err}") from None
    except RecursionError:  # nesting the token count does not see (a long run of NOT or unary minus)
        raise ExpressionError(too_deep) from None


def check_tree(tree: exp.Expr, kind: ExpressionKind, text: str, extra: tuple[type, ...] = ()) -> None:
    """
    Check every node of ``tree`` against the allow-list (plus ``extra`` node types).

    :param tree: a parsed expression.
    :param kind: whether aggregate functions are allowed.
    :param text: the text it was parsed from, for the error message.
    :param extra: node types also allowed (the fuzz test passes what our own rewrites introduce).
    :raises ExpressionError: naming the first disallowed construct.
    """
    if tree.comments or any(node.comments for node in tree.walk()):
        raise ExpressionError(f"comments are not allowed in expressions: {text!r}")
    allowed = _ALLOWED[kind] + extra
    for node in tree.walk():
        if not isinstance(node, allowed) or isinstance(node, exp.Anonymous):
            hint = ""
            if kind is ExpressionKind.SCALAR and isinstance(node, exp.AggFunc):
                hint = " (aggregate functions belong in a groupby aggregation)"
            raise ExpressionError(f"{_describe(node)} is not allowed in expression {text!r}{hint}")
    for node in tree.find_all(exp.Identifier, exp.Var):
        if not PLAIN_NAME.match(node.name):
            raise ExpressionError(
                f"{node.name!r} is not a plain name (letters, digits and underscores; quotes must be ASCII) "
                f"in expression {text!r}"
            )
    if isinstance(tree, exp.Column) and isinstance(tree.this, exp.Star):
        raise ExpressionError(f"'*' is only allowed inside count(*): {text!r}")


def referenced_columns(tree: exp.Expr) -> list[str]:
    """Return the column names an expression reads, in order of first use."""
    seen: dict[str, None] = {}
    for column in tree.find_all(exp.Column, bfs=False):
        seen.setdefault(column.name, None)
    return list(seen)


#: Infers an expression's type where it is certain (the plan's, :func:`~.compiler.plan.expression_type`).
TypeOf = Callable[[exp.Expr], str | None]


def _unknown(_: exp.Expr) -> str | None:
    return None


def _pinned(node: exp.Expr, dialect: str, type_of: TypeOf) -> exp.Expr | None:
    """Return the node that makes ``node`` compute the same value on every engine, or None to keep it."""
    if isinstance(node, exp.TryCast) and not node.args.get("safe"):
        # sqlglot reads Spark's CAST as TRY_CAST (legacy Spark); we pin ANSI: a bad cast is an error.
        return exp.Cast(this=node.this, to=node.to)
    if isinstance(node, exp.Div) and not isinstance(node.expression, exp.Nullif):
        # Division by zero is NULL on every engine (DuckDB gives inf, ANSI Spark raises).
        return exp.Div(this=node.this, expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0)))
    if isinstance(node, exp.CountIf) and dialect == "duckdb":
        # A count is never NULL; DuckDB's count_if() is NULL over rows whose conditions are all NULL.
        return exp.Coalesce(this=node.copy(), expressions=[exp.Literal.number(0)])
    if isinstance(node, exp.Quantile) and dialect == "duckdb":
        # Spark's percentile() interpolates; DuckDB's quantile() does not, its quantile_cont() does.
        return exp.PercentileCont(this=node.this, expression=node.args["quantile"])
    if isinstance(node, exp.Avg) and dialect == "spark" and (type_of(node.this) or "").startswith("decimal"):
        # Spark's avg() of a decimal is a decimal rounded to scale + 4; DuckDB's (and the plan's) is a double: the
        # exact sum over the count, as a double.
        value = node.this
        total = exp.Cast(this=exp.Sum(this=value.copy()), to=exp.DataType.build("DOUBLE"))
        return exp.Div(
            this=total, expression=exp.Nullif(this=exp.Count(this=value.copy()), expression=exp.Literal.number(0))
        )
    if isinstance(node, exp.Median | exp.Quantile) and dialect == "spark" and type_of(node.this) in ("double", None):
        return _interpolated_from_minus_infinity(node)
    if isinstance(node, exp.Floor | exp.Ceil) and not node.args.get("decimals"):
        argument = type_of(node.this)
        if dialect == "duckdb" and argument in ("int", "bigint", "double"):
            # Spark's floor() and ceil() of a whole number or a double are BIGINT (an infinity overflows);
            # DuckDB's keep the argument's type.
            return exp.Cast(this=node.copy(), to=exp.DataType.build("BIGINT"))
        if dialect == "spark" and argument == "double":
            # ANSI Spark turns NaN into 0 there; NaN has no whole number: an error on every engine.
            message = exp.Literal.string(f"{node.sql_name().lower()}(NaN) is out of range for BIGINT")
            return exp.If(
                this=exp.IsNan(this=node.this.copy()), true=exp.func("raise_error", message), false=node.copy()
            )
    return None


def _double(text: str) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build("DOUBLE"))


def _interpolated_from_minus_infinity(node: exp.Median | exp.Quantile) -> exp.Expr:
    """
    Spark's interpolated ``median``/``percentile`` between -inf and a finite neighbour as DuckDB's ``quantile_cont``
    gives it: -inf. Spark computes ``lo + (hi - lo) * f``, NaN there (DuckDB also gives NaN between -inf and +inf,
    or next to a NaN). The same percentile of two indicators that sort as the values do (-inf first; +inf and NaN
    last) tells where the result lies: from -inf (the first is below 1) to something that is neither +inf nor NaN
    (the second is 0).
    """
    value = node.this

    def same_percentile(indicator: exp.Expr) -> exp.Expr:
        as_double = exp.Cast(this=indicator, to=exp.DataType.build("DOUBLE"))  # NULL for a NULL value: skipped
        if isinstance(node, exp.Median):
            return exp.Median(this=as_double)
        return exp.Quantile(this=as_double, quantile=node.args["quantile"].copy())

    above_minus_infinity = same_percentile(exp.NEQ(this=value.copy(), expression=_double("-Infinity")))
    to_infinity_or_nan = same_percentile(
        exp.or_(exp.EQ(this=value.copy(), expression=_double("Infinity")), exp.IsNan(this=value.copy()))
    )
    condition = exp.and_(
        exp.IsNan(this=node.copy()),
        exp.LT(this=above_minus_infinity, expression=exp.Literal.number(1)),
        exp.EQ(this=to_infinity_or_nan, expression=exp.Literal.number(0)),
    )
    return exp.If(this=condition, true=_double("-Infinity"), false=node.copy())


def pin_semantics(tree: exp.Expr, dialect: str, type_of: TypeOf = _unknown) -> exp.Expr:
    """
    Return a copy of a checked tree rewritten so that ``dialect`` computes the values every engine does.

    :param type_of: the type of a node where it is known (the pins of ``floor`` and ``ceil`` need it).
    """
    root = tree.copy()
    # children before their parents, so that a parent's replacement holds its rewritten children
    for node in reversed(list(root.walk(bfs=False))):
        replacement = _pinned(node, dialect, type_of)
        if replacement is not None:
            if node is root:
                root = replacement
            else:
                node.replace(replacement)
    return root


def to_sql(tree: exp.Expr, dialect: str, type_of: TypeOf = _unknown) -> str:
    """Generate SQL for ``dialect`` (``duckdb`` or ``spark``) from a checked tree (``type_of``: see
    :func:`pin_semantics`)."""
    return pin_semantics(tree, dialect, type_of).sql(dialect=dialect, identify=True)
