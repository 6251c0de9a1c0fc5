"""
Data-quality checks, engine-neutral: fit them to the plan, compile them to aggregates, judge what they measured.

Every check a relation gets (the output, or an input) becomes one or more aggregate expressions of a single
``SELECT`` over that relation, so checking costs one scan per checked relation: row-level checks count their
failing rows with ``count(*) FILTER (WHERE ...)``, ``unique`` compares ``count(DISTINCT ...)`` with the rows,
``freshness`` takes ``max``, ``row_count`` ``count(*)``; ``schema`` reads the relation's columns and no rows.
The aggregates are sqlglot trees generated for each engine's dialect (no user text reaches SQL); the verdicts
are computed here, in Python, from the measured values, so both engines judge the same numbers the same way.
No Airflow imports: this runs on Spark drivers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlglot import exp

from airflow_provider_enterprise.compiler.plan import Column, Plan, PlanError, is_numeric
from airflow_provider_enterprise.spec.checks import (
    AcceptedValuesCheck,
    FreshnessCheck,
    MatchesCheck,
    NotNullCheck,
    RangeCheck,
    RowCountCheck,
    SchemaCheck,
    SchemaMode,
    Severity,
    UniqueCheck,
)
from airflow_provider_enterprise.spec.transformations import ProcessingLogic

_TEMPORAL = ("date", "timestamp")


class CheckOutcome:
    """A check's verdict: ``passed``, ``warned`` (failed, severity warn) or ``failed`` (failed, severity fail)."""

    PASSED = "passed"
    WARNED = "warned"
    FAILED = "failed"


@dataclass(frozen=True)
class CheckResult:
    """What one check measured and its verdict."""

    name: str
    type: str
    severity: str
    target: str
    outcome: str
    observed: Any
    failing_rows: int | None
    message: str

    @property
    def failed(self) -> bool:
        """The check failed (whatever its severity)."""
        return self.outcome != CheckOutcome.PASSED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- fitting checks to the plan --------------------------------------------------------------------------------


def _target_columns(plan: Plan, check: Any) -> tuple[Column, ...]:
    return plan.inputs[check.input] if check.input else plan.columns


def check_against_plan(logic: ProcessingLogic, plan: Plan) -> None:
    """
    Refuse a check whose columns are not in the relation it checks, or whose column's type it cannot judge.

    :raises PlanError: naming the check, the column and the relation's columns (or the column's type).
    """
    for index, check in enumerate(logic.checks):
        columns = _target_columns(plan, check)
        by_name = {c.name: c for c in columns}
        where = f"checks[{index}] {check.check_name!r} ({check.type})"
        for name in check.columns():
            if name not in by_name:
                known = ", ".join(by_name) or "none"
                raise PlanError(f"{where}: column {name!r} is not in the {check.target} (columns: {known})")
        kind = by_name[check.columns()[0]].type if check.columns() else None
        if kind is None:
            continue
        problem = _type_problem(check, kind)
        if problem:
            raise PlanError(f"{where}: column {check.columns()[0]!r} is {kind}: {problem}")


def _type_problem(check: Any, kind: str) -> str | None:
    """Why ``check`` cannot judge a column of type ``kind`` (None: it can)."""
    if isinstance(check, RangeCheck) and not is_numeric(kind):
        return "a range check needs a number column"
    if isinstance(check, MatchesCheck) and kind != "string":
        return "a matches check needs a string column"
    if isinstance(check, FreshnessCheck) and kind not in _TEMPORAL:
        return "a freshness check needs a date or timestamp column"
    if isinstance(check, AcceptedValuesCheck):
        value = check.values[0]
        fits = (
            kind == "boolean"
            if isinstance(value, bool)
            else is_numeric(kind)
            if isinstance(value, int | float)
            else kind == "string"
        )
        if not fits:
            return f"its accepted values are {type(value).__name__} values"
    return None


# -- compiling checks to aggregates -----------------------------------------------------------------------------


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def _failing(condition: exp.Expr) -> exp.Expr:
    """The number of rows for which ``condition`` holds."""
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition))


def failing_condition(check: Any) -> exp.Expr | None:
    """The condition of a row-level check's failing rows (a NULL value fails only ``not_null``); None for others."""
    if isinstance(check, NotNullCheck):
        return exp.Is(this=_col(check.column), expression=exp.Null())
    if not isinstance(check, AcceptedValuesCheck | RangeCheck | MatchesCheck):
        return None
    column = _col(check.column)
    condition: exp.Expr
    if isinstance(check, AcceptedValuesCheck):
        condition = exp.In(this=column, expressions=[_literal(v) for v in check.values])
    elif isinstance(check, RangeCheck):
        bounds: list[exp.Expr] = []
        if check.min is not None:
            bounds.append((exp.GTE if check.min_inclusive else exp.GT)(this=column, expression=_literal(check.min)))
        if check.max is not None:
            bounds.append((exp.LTE if check.max_inclusive else exp.LT)(this=column, expression=_literal(check.max)))
        condition = exp.and_(*bounds)
    else:
        condition = exp.RegexpLike(this=column, expression=exp.Literal.string(check.pattern))
    return exp.and_(exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())), exp.Not(this=exp.paren(condition)))


def _aggregates(check: Any) -> dict[str, exp.Expr]:
    """The values ``check`` measures, by key."""
    condition = failing_condition(check)
    if condition is not None:
        return {"failing": _failing(condition)}
    if isinstance(check, UniqueCheck):
        keyed = exp.and_(*(exp.Not(this=exp.Is(this=_col(c), expression=exp.Null())) for c in check.columns()))
        distinct = exp.Count(this=exp.Distinct(expressions=[_col(c) for c in check.columns()]))
        return {"keyed": _failing(keyed), "distinct": distinct}
    if isinstance(check, RowCountCheck):
        return {"rows": exp.Count(this=exp.Star())}
    if isinstance(check, FreshnessCheck):
        return {"newest": exp.Max(this=_col(check.column))}
    return {}  # schema: no rows are read


@dataclass(frozen=True)
class CheckQuery:
    """The aggregates of the checks of one relation: ``select`` them (aliased ``__c<i>_<key>``) over it."""

    target: str
    checks: tuple[tuple[int, Any], ...]
    aggregates: tuple[tuple[str, exp.Expr], ...]

    def select(self, relation: exp.Expr) -> exp.Select | None:
        """One ``SELECT`` of every aggregate over ``relation``; None when no check reads rows."""
        if not self.aggregates:
            return None
        return exp.select(*(exp.alias_(tree, alias, quoted=True) for alias, tree in self.aggregates)).from_(relation)

    def sql(self, relation: exp.Expr, dialect: str) -> str | None:
        query = self.select(relation)
        return None if query is None else query.sql(dialect=dialect, identify=True)

    def expressions(self, dialect: str) -> list[tuple[str, str]]:
        """Each aggregate as SQL of ``dialect`` with its alias (for ``DataFrame.agg``)."""
        return [(alias, tree.sql(dialect=dialect, identify=True)) for alias, tree in self.aggregates]


def check_queries(logic: ProcessingLogic) -> list[CheckQuery]:
    """The checks grouped by the relation they check (``output`` first), each group's aggregates compiled."""
    groups: dict[str, list[tuple[int, Any]]] = {}
    for index, check in enumerate(logic.checks):
        groups.setdefault(check.target, []).append((index, check))
    ordered = sorted(groups, key=lambda target: target != "output")
    return [
        CheckQuery(
            target=target,
            checks=tuple(groups[target]),
            aggregates=tuple(
                (f"__c{index}_{key}", tree)
                for index, check in groups[target]
                for key, tree in _aggregates(check).items()
            ),
        )
        for target in ordered
    ]


# -- judging -----------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A measured value as JSON data."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _naive_utc(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _judge(check: Any, measured: Mapping[str, Any], columns: Sequence[Column]) -> tuple[bool, Any, int | None, str]:
    """Return (passed, observed value, failing rows, message) of ``check`` from its ``measured`` aggregates."""
    if "failing" in measured:
        failing = int(measured["failing"] or 0)
        what = {
            "not_null": "NULL",
            "accepted_values": "not an accepted value",
            "range": "out of range",
            "matches": "not matching the pattern",
        }[check.type]
        return failing == 0, failing, failing, f"{failing} row(s) {what} in column {check.column!r}"
    if isinstance(check, UniqueCheck):
        duplicates = int(measured["keyed"] or 0) - int(measured["distinct"] or 0)
        keys = ", ".join(check.columns())
        return duplicates == 0, duplicates, duplicates, f"{duplicates} row(s) repeat a key ({keys}) of another row"
    if isinstance(check, RowCountCheck):
        rows = int(measured["rows"])
        problems = []
        if check.min is not None and rows < check.min:
            problems.append(f"fewer than {check.min}")
        if check.max is not None and rows > check.max:
            problems.append(f"more than {check.max}")
        change = ""
        if check.max_change_pct is not None and check.previous is not None:
            pct = (
                abs(rows - check.previous) / check.previous * 100
                if check.previous
                else (0.0 if rows == 0 else math.inf)
            )
            change = f", {pct:.1f}% from the previous run's {check.previous}"
            if pct > check.max_change_pct:
                problems.append(f"changed more than {check.max_change_pct}%")
        elif check.max_change_pct is not None:
            change = " (no previous successful run to compare with)"
        verdict = f": {' and '.join(problems)}" if problems else ""
        return not problems, rows, None, f"{rows} row(s){change}{verdict}"
    if isinstance(check, FreshnessCheck):
        newest = measured["newest"]
        reference = _naive_utc(check.reference or datetime.now(UTC))
        if newest is None:
            return False, None, None, f"column {check.column!r} has no value to be fresh"
        age, max_age = (reference - _naive_utc(newest)).total_seconds(), check.max_age_seconds
        return (
            age <= max_age,
            _plain(newest),
            None,
            f"newest {check.column!r} is {age:.0f} s old at {reference.isoformat()} (max_age {max_age:.0f} s)",
        )
    if isinstance(check, SchemaCheck):
        return _judge_schema(check, columns)
    raise TypeError(f"no verdict for check type {check.type!r}")


def _judge_schema(check: SchemaCheck, columns: Sequence[Column]) -> tuple[bool, Any, int | None, str]:
    actual = {c.name: c.type for c in columns}
    problems = [f"{name} is missing" for name in check.expected if name not in actual]
    problems += [
        f"{name} is {actual[name]}, not {kind}"
        for name, kind in check.expected.items()
        if name in actual and actual[name] != kind
    ]
    if check.mode is SchemaMode.FREEZE:
        problems += [f"{name} ({actual[name]}) is not expected" for name in actual if name not in check.expected]
    observed = {c.name: c.type for c in columns}
    return not problems, observed, None, "; ".join(problems) or f"{len(check.expected)} column(s) as expected"


def judge(query: CheckQuery, row: Mapping[str, Any], columns: Sequence[Column]) -> list[CheckResult]:
    """
    The verdicts of ``query``'s checks.

    :param row: the aggregates ``query`` selected, by alias (empty when it selected none).
    :param columns: the checked relation's columns with their types (the ``schema`` check's subject).
    """
    results = []
    for index, check in query.checks:
        prefix = f"__c{index}_"
        measured = {alias.removeprefix(prefix): value for alias, value in row.items() if alias.startswith(prefix)}
        passed, observed, failing, message = _judge(check, measured, columns)
        outcome = (
            CheckOutcome.PASSED
            if passed
            else CheckOutcome.WARNED
            if check.severity is Severity.WARN
            else CheckOutcome.FAILED
        )
        results.append(
            CheckResult(
                name=check.check_name,
                type=check.type,
                severity=check.severity.value,
                target=query.target,
                outcome=outcome,
                observed=observed,
                failing_rows=failing,
                message=message,
            )
        )
    return results


def rows_to_keep(logic: ProcessingLogic, results: Sequence[CheckResult]) -> list[tuple[Any, exp.Expr]]:
    """The failed row-level checks whose failing rows are kept, with the condition that selects those rows."""
    failed = {r.name for r in results if r.failed}
    return [
        (check, condition)
        for check in logic.checks
        if getattr(check, "keep_failing_rows", False)
        and check.check_name in failed
        and (condition := failing_condition(check)) is not None
    ]


def failed_checks(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The results that withhold the output (failed with severity ``fail``)."""
    return [r for r in results if r.outcome == CheckOutcome.FAILED]


def describe_failures(job_name: str, results: Sequence[CheckResult]) -> str:
    """The message of a job whose ``fail`` checks failed, naming each."""
    failed = failed_checks(results)
    details = "; ".join(f"{r.name} ({r.type} on {r.target}): {r.message}" for r in failed)
    return f"job {job_name!r} failed {len(failed)} data-quality check(s), so its output was not published: {details}"


def results_table(results: Sequence[CheckResult | Mapping[str, Any]]) -> str:
    """``results`` (or their dicts) as a text table: check, type, target, outcome, observed value, message."""
    header = ("check", "type", "on", "outcome", "observed", "message")
    rows = []
    for result in results:
        r = result.to_dict() if isinstance(result, CheckResult) else result
        observed = "" if r["observed"] is None else str(r["observed"])
        rows.append((r["name"], r["type"], r["target"], r["outcome"], observed[:40], r["message"]))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [header, *rows]
    )
