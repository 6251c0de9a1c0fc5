"""
Run a job's data-quality checks on DuckDB: over the staged output, after it is written and before it is committed.

The staged files are read back (Parquet as written; CSV and JSON with the types the job's query produced), and
each checked relation (the output, an input's view) is scanned once by the single aggregate ``SELECT`` of
:func:`~airflow_provider_enterprise.compiler.checks.check_queries`. The verdicts come from
:func:`~airflow_provider_enterprise.compiler.checks.judge`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlglot import exp

from airflow_provider_enterprise.compiler.checks import CheckQuery, CheckResult, check_queries, judge
from airflow_provider_enterprise.compiler.plan import Column, normalize_type
from airflow_provider_enterprise.spec import FileFormat, JobSpec

log = logging.getLogger(__name__)

DIALECT = "duckdb"
_OUTPUT_VIEW = "__checked_output"


def _staged_relation(con, query: str, staging: Path, output_format: FileFormat, partitioned: bool):
    """The staged output's rows as a DuckDB relation, typed as the job's ``query`` typed them."""
    files = sorted(str(p) for p in staging.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if output_format is FileFormat.PARQUET:
        return con.read_parquet(files, hive_partitioning=partitioned)
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {query}").fetchall()}
    if output_format is FileFormat.CSV:
        return con.read_csv(files, header=True, dtype=types, hive_partitioning=partitioned)
    return con.read_json(files, columns=types, format="newline_delimited", hive_partitioning=partitioned)


def _columns(con, view: str) -> list[Column]:
    relation = con.table(view)
    return [
        Column(name, normalize_type(str(kind))) for name, kind in zip(relation.columns, relation.types, strict=True)
    ]


def _run(con, query: CheckQuery, view: str) -> list[CheckResult]:
    sql = query.sql(exp.to_table(exp.to_identifier(view, quoted=True)), DIALECT)
    row: dict = {}
    if sql is not None:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    return judge(query, row, _columns(con, view))


def run_checks(
    con,
    spec: JobSpec,
    *,
    query: str,
    staging: Path,
    partitioned: bool,
    input_view: Callable[[str], str],
) -> list[CheckResult]:
    """
    Check ``spec``'s output staged at ``staging`` (written by ``query``) and the inputs its checks name.

    :param input_view: the view name under which input ``name`` is registered.
    :return: every check's result, in the order of the spec's checks.
    """
    results: list[CheckResult] = []
    for check_query in check_queries(spec.processing_logic):
        if check_query.target == "output":
            _staged_relation(con, query, staging, spec.output_format, partitioned).create_view(_OUTPUT_VIEW)
            view = _OUTPUT_VIEW
        else:
            view = input_view(check_query.target.removeprefix("input:"))
        results.extend(_run(con, check_query, view))
    order = {c.check_name: i for i, c in enumerate(spec.processing_logic.checks)}
    return sorted(results, key=lambda r: order[r.name])
