"""
What a bad input row is, defined once and compiled into every engine's plan.

A CSV input is read with every column as a string, so the engines' own type parsers (which disagree: DuckDB
and Spark accept different spellings of booleans, dates and numbers) never decide. A record is bad when:

- it has more or fewer fields than the declared columns, or its quoting is broken (``malformed record``). Empty
  fields past the columns (a trailing delimiter, ``,,`` or ``,""``) are not fields: DuckDB's reader drops them,
  and the Spark application does the same;
- a field holds the replacement character U+FFFD, or bytes that are not UTF-8 (``invalid encoding``: DuckDB's
  reader rejects such bytes, Spark's replaces them with U+FFFD, so both end up here; in a typed column the
  value fails its type's pattern instead, so it is bad either way);
- a non-empty field does not parse as its declared type (``column 'x' is not int``): the value must match the
  type's pattern below and convert with ``TRY_CAST`` (which catches ranges and calendar dates).

An empty field, quoted or not, is NULL. Every input record is either good or bad: ``rows_in = good + bad`` on
every engine.

A CSV input without a declared schema takes its column names from its header (:func:`column_names`): a header
that repeats a name or leaves one empty, or an input with no header at all (empty files), fails the job rather
than have the engine invent or rename a column.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from airflow_provider_enterprise.compiler.plan import Column, data_type, decimal_digits
from airflow_provider_enterprise.exceptions import InputHeaderError

#: The column holding why a row is bad (NULL for a good row).
REASON = "__bad_reason"
#: The reason given for records the reader could not split into fields.
MALFORMED = "malformed record"
INVALID_ENCODING = "invalid encoding"
REPLACEMENT_CHARACTER = "\ufffd"

_PATTERNS = {
    "int": r"^[+-]?[0-9]{1,10}$",
    "bigint": r"^[+-]?[0-9]{1,19}$",
    "double": r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$",
    "boolean": r"^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?$",
}


def type_pattern(type_name: str) -> str | None:
    """The regular expression a field must match to parse as ``type_name`` (None: any text, a string)."""
    digits = decimal_digits(type_name)
    if digits:
        precision, scale = digits
        whole = max(precision - scale, 1)
        if not scale:
            return rf"^[+-]?[0-9]{{1,{whole}}}$"
        return rf"^[+-]?([0-9]{{1,{whole}}}([.][0-9]{{0,{scale}}})?|[.][0-9]{{1,{scale}}})$"  # 5, 5., 5.25, .25
    return _PATTERNS.get(type_name)


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def matches_pattern(text: exp.Expr, type_name: str) -> exp.Expr:
    """True where ``text`` matches the pattern of ``type_name``, a type that has one (:func:`type_pattern`)."""
    pattern = type_pattern(type_name)
    if pattern is None:
        raise ValueError(f"type {type_name!r} has no pattern: any text is a {type_name}")
    return exp.RegexpLike(this=text, expression=exp.Literal.string(pattern))


def _parses(name: str, type_name: str) -> exp.Expr | None:
    if type_pattern(type_name) is None:
        return None
    value = _column(name)
    return exp.or_(
        exp.Is(this=value, expression=exp.Null()),
        exp.and_(
            matches_pattern(value.copy(), type_name),
            exp.Not(
                this=exp.Is(
                    this=exp.TryCast(this=value.copy(), to=data_type(type_name), safe=True), expression=exp.Null()
                )
            ),
        ),
    )


def empty_as_null(columns: Sequence[Column]) -> list[exp.Expr]:
    """The string columns with empty fields (quoted or not) as NULL."""
    return [
        exp.alias_(exp.Nullif(this=_column(c.name), expression=exp.Literal.string("")), c.name, quoted=True)
        for c in columns
    ]


def _replacement_in(name: str) -> exp.Expr:
    return exp.Like(this=_column(name), expression=exp.Literal.string(f"%{REPLACEMENT_CHARACTER}%"))


def reason_expression(columns: Sequence[Column]) -> exp.Expr:
    """
    A CASE giving why a row of string ``columns`` is bad, or NULL when it is good.

    :param columns: the declared columns (name and our type), read as strings.
    """
    case = exp.Case()
    # Typed columns are checked for U+FFFD only when their value fails its (ASCII) pattern: cheap.
    encoding = [_replacement_in(c.name) for c in columns if type_pattern(c.type or "string") is None]
    if encoding:
        case = case.when(exp.or_(*encoding), exp.Literal.string(INVALID_ENCODING))
    for column in columns:
        parses = _parses(column.name, column.type or "string")
        if parses is not None:
            # A value that fails its pattern because of U+FFFD (Spark's stand-in for bytes that are not UTF-8)
            # is an encoding error, as DuckDB's reader reports it; checked only for values that failed.
            why = exp.Case(
                ifs=[exp.If(this=_replacement_in(column.name), true=exp.Literal.string(INVALID_ENCODING))],
                default=exp.Literal.string(f"column {column.name!r} is not {column.type}"),
            )
            case = case.when(exp.Not(this=exp.Paren(this=parses)), why)
    return case if case.args.get("ifs") else exp.Null()


def typed_projection(columns: Sequence[Column]) -> list[exp.Expr]:
    """The columns converted from strings to their declared types (run only on rows that passed the check)."""
    return [
        _column(c.name)
        if (c.type or "string") == "string"
        else exp.alias_(exp.Cast(this=_column(c.name), to=data_type(c.type or "string")), c.name, quoted=True)
        for c in columns
    ]


def column_names(
    input_name: str, first_record: Sequence[str | None] | None, header: bool, generated: Sequence[str]
) -> tuple[str, ...]:
    """
    The column names of a CSV input without a declared schema: its header's, checked, or the names the engine
    ``generated`` for an input without a header.

    :param input_name: the input, named in the error.
    :param first_record: the fields of the input's first record as read (unquoted); None when it has no record
        (its files are empty).
    :param header: whether the first record is a header.
    :raises InputHeaderError: no record, or a header name that is empty or repeated.
    """
    if first_record is None:
        raise InputHeaderError(
            f"input {input_name!r} is empty: no header names its columns (declare a schema to read it as 0 rows)"
        )
    if not header:
        return tuple(generated)
    seen: dict[str, int] = {}
    for position, name in enumerate(first_record, start=1):
        if not name:
            raise InputHeaderError(f"input {input_name!r}: header column {position} has no name (declare a schema)")
        if name in seen:
            raise InputHeaderError(
                f"input {input_name!r}: header column {name!r} appears twice, as columns {seen[name]} and "
                f"{position} (declare a schema to name them)"
            )
        seen[name] = position
    return tuple(seen)  # the header's names, in order (each once: a repeat was refused)
