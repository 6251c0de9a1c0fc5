"""
The check of a CSV input read in one scan on DuckDB: the bad-row rules, evaluated cheaply.

The rules of :mod:`airflow_provider_enterprise.compiler.bad_rows` test each typed field against its type's
regular expression, then ``TRY_CAST``. A regular expression costs DuckDB more than the conversion; the one scan
converts each field once (:func:`with_values`), for the check and the job, and spares most of the matches:

- a field whose value prints back as its own text (``CAST(value AS VARCHAR) = text``) matches its pattern and
  converts, for the types whose printed form always matches their pattern: ``int``, ``bigint``, ``decimal``, a
  ``date`` of ten characters, a ``timestamp`` with a four-digit year and no era (:func:`_prints_as_text`). Only
  the rest (``+5``, ``007``, ``2026-12-06T10:00:00``, a bad value) are matched against the pattern;
- a ``boolean`` is one of two words in any case: the pattern, without a regular expression;
- a ``double`` prints in its own way (``901.0`` for ``901.00``), so its pattern is always matched;
- a string holds no U+FFFD (``contains``).

So a record passes exactly when the rules accept it (a good value of any spelling never refutes the one scan), and
each value is the rules' ``CAST``. :func:`guarded` fails the job's scan on the first bad record (the engine then
reads the input again, checked); :func:`checked` gives every record's reason, evaluating the rules' own expression
(which names the column) only for the bad ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, data_type, decimal_digits

#: The error the first bad record raises in the job's scan.
BAD_ROW_IN_ONE_SCAN = "bad row in a CSV input read in one scan"


def _value(index: int) -> exp.Column:
    return exp.column(f"__one_scan_value_{index}", quoted=True)


def _type(column: Column) -> str:
    return column.type or "string"


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _prints_as_text(type_name: str, text: exp.Expr, value: exp.Expr) -> exp.Expr | None:
    """
    True only where ``text`` matches ``type_name``'s pattern and converts to ``value``, tested without the pattern;
    None when no such test is cheaper than the pattern. False or NULL says nothing.
    """
    printed = exp.EQ(this=exp.Cast(this=value, to=exp.DataType.build("VARCHAR")), expression=text.copy())
    if type_name in ("int", "bigint") or decimal_digits(type_name):
        return printed  # -?[0-9]+(.[0-9]{scale})?, within the type's digits
    if type_name == "date":  # YYYY-MM-DD; other years print longer ('10000-01-01', '0001-01-01 (BC)')
        return exp.and_(exp.EQ(this=_call("strlen", text.copy()), expression=exp.Literal.number(10)), printed)
    if type_name == "timestamp":  # YYYY-MM-DD HH:MM:SS[.ffffff]; not '10000-01-01 …' nor '0001-01-01 (BC) …'
        four_digit_year = exp.EQ(
            this=_call("substr", text.copy(), exp.Literal.number(5), exp.Literal.number(1)),
            expression=exp.Literal.string("-"),
        )
        no_era = exp.Not(this=_call("contains", text.copy(), exp.Literal.string("(")))
        return exp.and_(four_digit_year, no_era, printed)
    if type_name == "boolean":
        words = [exp.Literal.string("true"), exp.Literal.string("false")]
        return exp.In(this=exp.Lower(this=text.copy()), expressions=words)
    return None


def _bad_field(column: Column, value: exp.Expr) -> exp.Expr:
    """True when a non-empty field of typed ``column`` (converted with ``TRY_CAST`` to ``value``) is bad."""
    type_name = _type(column)
    text = exp.column(column.name, quoted=True)
    matches = bad_rows.matches_pattern(text, type_name)
    converted = exp.Not(this=exp.Is(this=value, expression=exp.Null()))
    by_rules = exp.Not(this=exp.paren(exp.and_(matches, converted)))
    present = exp.Not(this=exp.Is(this=text.copy(), expression=exp.Null()))
    if (cheap := _prints_as_text(type_name, text, value.copy())) is None:
        return exp.and_(present, by_rules)
    return exp.and_(present, exp.Not(this=_call("coalesce", exp.paren(cheap), exp.false())), by_rules)


def with_values(strings: exp.Select, columns: Sequence[Column]) -> exp.Select:
    """
    The rows of ``strings`` (every column a string, empty fields NULL) with each typed column's value converted
    with ``TRY_CAST`` beside its text, once for both the check and the job (:func:`good_values` selects them).
    """
    values = [
        exp.alias_(
            exp.TryCast(this=exp.column(c.name, quoted=True), to=data_type(_type(c)), safe=True),
            _value(i).name,
            quoted=True,
        )
        for i, c in enumerate(columns)
        if _type(c) != "string"
    ]
    source = exp.Subquery(this=strings, alias=exp.TableAlias(this=exp.to_identifier("n")))
    return exp.select(exp.Star(), *values).from_(source)


def bad_record(columns: Sequence[Column]) -> exp.Expr:
    """
    True when a record of a :func:`with_values` relation of ``columns`` is bad by the rules; false or NULL when it
    is good.
    """
    tests: list[exp.Expr] = [
        _bad_field(c, _value(i))
        if bad_rows.type_pattern(_type(c))
        else _call("contains", exp.column(c.name, quoted=True), exp.Literal.string(bad_rows.REPLACEMENT_CHARACTER))
        for i, c in enumerate(columns)
    ]
    return exp.or_(*tests) if tests else exp.false()


def guarded(strings: exp.Select, columns: Sequence[Column]) -> exp.Select:
    """
    The rows of ``strings`` (every column a string, empty fields NULL) converted to ``columns``' types, each
    record tested first: the first bad one raises :data:`BAD_ROW_IN_ONE_SCAN`.
    """
    fail = _call("error", exp.Literal.string(BAD_ROW_IN_ONE_SCAN))
    check = exp.Case(ifs=[exp.If(this=bad_record(columns), true=fail)], default=exp.true())
    source = exp.Subquery(this=with_values(strings, columns), alias=exp.TableAlias(this=exp.to_identifier("v")))
    return exp.select(*good_values(columns)).from_(source).where(check)


def checked(strings: exp.Select, columns: Sequence[Column]) -> exp.Select:
    """
    The :func:`with_values` rows of ``strings`` with why each record is bad, NULL when it is good
    (:data:`airflow_provider_enterprise.compiler.bad_rows.REASON`): the rules' reason
    (:func:`airflow_provider_enterprise.compiler.bad_rows.reason_expression`), evaluated only for bad records.
    """
    reason = exp.Case(ifs=[exp.If(this=bad_record(columns), true=bad_rows.reason_expression(columns))])
    source = exp.Subquery(this=with_values(strings, columns), alias=exp.TableAlias(this=exp.to_identifier("v")))
    return exp.select(exp.Star(), exp.alias_(reason, bad_rows.REASON, quoted=True)).from_(source)


def good_values(columns: Sequence[Column]) -> list[exp.Expr]:
    """The converted values of a :func:`with_values` relation's columns, under the columns' names."""
    return [
        exp.column(c.name, quoted=True) if _type(c) == "string" else exp.alias_(_value(i), c.name, quoted=True)
        for i, c in enumerate(columns)
    ]


def one_scan_refuted(err: Exception) -> bool:
    """Whether ``err``, raised by a query reading an input in one scan, may be a bad record of that input (the job is
    then run again checked, where an error of the query itself is raised again as it is)."""
    import duckdb

    return isinstance(err, duckdb.ConversionException) or (
        isinstance(err, duckdb.InvalidInputException) and BAD_ROW_IN_ONE_SCAN in str(err)
    )
