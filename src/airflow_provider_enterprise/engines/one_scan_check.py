"""
The check of a CSV input read in one scan on DuckDB: cheap tests that every record is good.

The job's own scan converts each field with DuckDB's ``CAST`` and tests the text against the converted value.
A record passes only when the engine-neutral rules of :mod:`airflow_provider_enterprise.compiler.bad_rows`
(pattern, then ``TRY_CAST``, then ``CAST``) accept it with the identical value; a record that fails a test, or
whose ``CAST`` fails (a :class:`duckdb.ConversionException`), refutes the one scan, and the engine reads the input
again checked, where the rules decide. The tests may refute good records with unusual spellings (``+5``,
``007``, ``-0``), never accept a bad one:

- ``int``, ``bigint``: the text is the value printed back (digits with an optional ``-``, so it matches the
  pattern; the ``CAST`` held, so ``TRY_CAST`` holds);
- ``date``: the text has 10 characters and is the value printed back (``YYYY-MM-DD``);
- ``boolean``: ``true`` or ``false`` in any case;
- ``double``, ``decimal``, ``timestamp``: the type's pattern (the ``CAST`` gave the value);
- ``string``: no U+FFFD.

About twice as fast as evaluating the rules themselves, which test every typed value with a regular expression
and ``TRY_CAST`` before converting it.

The checked path uses the same tests to find bad records (:func:`checked`): each typed field is converted with
``TRY_CAST`` instead, a field whose conversion gives NULL fails, and the rules judge only the records that fail
a test (a few unusual spellings and the bad records), so that they cost about what the one scan's tests cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, data_type

#: The error the first bad record raises in the job's scan.
BAD_ROW_IN_ONE_SCAN = "bad row in a CSV input read in one scan"


def _text(index: int) -> exp.Column:
    return exp.column(f"__one_scan_text_{index}", quoted=True)


def _value(index: int) -> exp.Column:
    return exp.column(f"__one_scan_value_{index}", quoted=True)


def _failed(column: Column, index: int, value: exp.Column | None = None, text: exp.Column | None = None) -> exp.Expr:
    """Why the text of ``column`` does not pass (NULL or false when it passes), beside its converted value
    (``value`` and ``text`` name them: by default the value under the column's name and the text beside it)."""
    type_name = column.type or "string"
    value = value or exp.column(column.name, quoted=True)
    text = text or _text(index)
    printed = exp.NEQ(this=exp.Cast(this=value, to=exp.DataType.build("VARCHAR")), expression=text.copy())
    if type_name in ("int", "bigint"):
        return printed
    if type_name == "date":
        length = exp.Anonymous(this="strlen", expressions=[text.copy()])
        return exp.or_(exp.NEQ(this=length, expression=exp.Literal.number(10)), printed)
    if type_name == "boolean":
        spelled = exp.In(
            this=exp.Lower(this=text.copy()), expressions=[exp.Literal.string("true"), exp.Literal.string("false")]
        )
        return exp.Not(this=spelled)
    if type_name == "string":
        return exp.Anonymous(this="contains", expressions=[value, exp.Literal.string(bad_rows.REPLACEMENT_CHARACTER)])
    pattern = bad_rows.type_pattern(type_name)
    return exp.Not(this=exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(pattern)))


def guarded(strings: exp.Select, columns: Sequence[Column]) -> exp.Select:
    """
    The rows of ``strings`` (every column a string, empty fields NULL) converted to ``columns``' types, each
    record tested first: the first that fails raises :data:`BAD_ROW_IN_ONE_SCAN`.
    """
    converted = exp.select(
        *bad_rows.typed_projection(columns),
        *(
            exp.alias_(exp.column(c.name, quoted=True), _text(i).name, quoted=True)
            for i, c in enumerate(columns)
            if (c.type or "string") != "string"
        ),
    ).from_(exp.Subquery(this=strings, alias=exp.TableAlias(this=exp.to_identifier("n"))))
    failed = exp.or_(*(_failed(c, i) for i, c in enumerate(columns)))
    fail = exp.Anonymous(this="error", expressions=[exp.Literal.string(BAD_ROW_IN_ONE_SCAN)])
    check = exp.Case(ifs=[exp.If(this=failed, true=fail)], default=exp.true())
    return (
        exp.select(*(exp.column(c.name, quoted=True) for c in columns))
        .from_(exp.Subquery(this=converted, alias=exp.TableAlias(this=exp.to_identifier("c"))))
        .where(check)
    )


def checked(strings: exp.Select, columns: Sequence[Column]) -> exp.Select:
    """
    The rows of ``strings`` (every column a string, empty fields NULL) with each typed column's value converted
    with ``TRY_CAST`` beside its text (:func:`good_values` selects them) and why the record is bad, NULL when it is
    good (:data:`airflow_provider_enterprise.compiler.bad_rows.REASON`): the rules' reason
    (:func:`airflow_provider_enterprise.compiler.bad_rows.reason_expression`), evaluated only for the records
    that fail a test.
    """
    typed = [(i, c) for i, c in enumerate(columns) if (c.type or "string") != "string"]
    converted = exp.select(
        *(exp.column(c.name, quoted=True) for c in columns),
        *(
            exp.alias_(
                exp.TryCast(this=exp.column(c.name, quoted=True), to=data_type(c.type or "string"), safe=True),
                _value(i).name,
                quoted=True,
            )
            for i, c in typed
        ),
    ).from_(exp.Subquery(this=strings, alias=exp.TableAlias(this=exp.to_identifier("n"))))
    tests = []
    for i, column in enumerate(columns):
        text = exp.column(column.name, quoted=True)
        if (column.type or "string") == "string":
            tests.append(_failed(column, i))
            continue
        unconverted = exp.and_(
            exp.Is(this=_value(i), expression=exp.Null()),
            exp.Not(this=exp.Is(this=text.copy(), expression=exp.Null())),
        )
        tests.append(exp.or_(_failed(column, i, _value(i), text), unconverted))
    reason = exp.Case(ifs=[exp.If(this=exp.or_(*tests), true=bad_rows.reason_expression(columns))])
    return exp.select(exp.Star(), exp.alias_(reason, bad_rows.REASON, quoted=True)).from_(
        exp.Subquery(this=converted, alias=exp.TableAlias(this=exp.to_identifier("c")))
    )


def good_values(columns: Sequence[Column]) -> list[exp.Expr]:
    """The converted values of a :func:`checked` relation's columns, under the columns' names."""
    return [
        exp.column(c.name, quoted=True)
        if (c.type or "string") == "string"
        else exp.alias_(_value(i), c.name, quoted=True)
        for i, c in enumerate(columns)
    ]


def one_scan_refuted(err: Exception) -> bool:
    """Whether ``err``, raised by a query reading an input in one scan, may be a bad record of that input (the job is
    then run again checked, where an error of the query itself is raised again as it is)."""
    import duckdb

    return isinstance(err, duckdb.ConversionException) or (
        isinstance(err, duckdb.InvalidInputException) and BAD_ROW_IN_ONE_SCAN in str(err)
    )
