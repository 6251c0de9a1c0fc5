"""
Run a job's data-quality checks on DuckDB: over the staged output, after it is written and before it is committed.

The staged files are read back (Parquet as written; CSV and JSON with the types the job's query produced), and
each checked relation (the output, an input's view) is scanned once by the single aggregate ``SELECT`` of
:func:`~airflow_provider_enterprise.compiler.checks.check_queries`. The verdicts come from
:func:`~airflow_provider_enterprise.compiler.checks.judge`; the failing rows of the checks that keep them are written
into the staging directory too (:func:`write_failing_rows`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from airflow_provider_enterprise.compiler.checks import CheckQuery, CheckResult, check_queries, judge, rows_to_keep
from airflow_provider_enterprise.compiler.plan import Column, normalize_type
from airflow_provider_enterprise.spec import FileFormat, JobSpec
from airflow_provider_enterprise.spec.checks import failing_rows_file

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection, DuckDBPyRelation

log = logging.getLogger(__name__)

DIALECT = "duckdb"
_OUTPUT_VIEW = "__checked_output"


#: How each format's staged files are read back, by a fixed statement whose values are bound parameters.
_READERS = {
    FileFormat.PARQUET: "read_parquet($files",
    FileFormat.CSV: "read_csv($files, header = true, columns = $types",
    FileFormat.JSON: "read_json($files, format = 'newline_delimited', columns = $types",
}


def _staged_relation(
    con: DuckDBPyConnection, query: str, staging: Path, output_format: FileFormat, partition_by: list[str]
) -> DuckDBPyRelation:
    """The staged output's rows as a DuckDB relation, typed as the job's ``query`` typed them (partition columns
    too: their values are read from the directory names)."""
    files = sorted(str(p) for p in staging.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {query}").fetchall()}
    params: dict[str, Any] = {"files": files}
    reader = _READERS[output_format]
    if partition_by:
        params["hive_types"] = {c: types.pop(c) for c in partition_by}
        reader += ", hive_partitioning = true, hive_types = $hive_types"
    if "$types" in reader:
        params["types"] = types
    return con.sql(f"SELECT * FROM {reader})", params=params)


def _columns(con: DuckDBPyConnection, view: str) -> list[Column]:
    relation = con.table(view)
    return [
        Column(name, normalize_type(str(kind))) for name, kind in zip(relation.columns, relation.types, strict=True)
    ]


def _run(con: DuckDBPyConnection, query: CheckQuery, view: str) -> list[CheckResult]:
    sql = query.sql(exp.table_(view, quoted=True), DIALECT)
    row: dict[str, Any] = {}
    if sql is not None:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        values = cursor.fetchone()
        assert values is not None  # an aggregate without grouping is one row
        row = dict(zip(names, values, strict=True))
    return judge(query, row, _columns(con, view))


def run_checks(
    con: DuckDBPyConnection,
    spec: JobSpec,
    *,
    query: str,
    staging: Path,
    partition_by: list[str],
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
            _staged_relation(con, query, staging, spec.output_format, partition_by).create_view(_OUTPUT_VIEW)
            view = _OUTPUT_VIEW
        else:
            view = input_view(check_query.target.removeprefix("input:"))
        results.extend(_run(con, check_query, view))
    order = {c.check_name: i for i, c in enumerate(spec.processing_logic.checks)}
    return sorted(results, key=lambda r: order[r.name])


def write_failing_rows(
    con: DuckDBPyConnection,
    spec: JobSpec,
    results: list[CheckResult],
    staging: Path,
    *,
    input_view: Callable[[str], str],
) -> None:
    """Write the failing rows of each failed row-level check with ``keep_failing_rows`` into ``staging`` (after
    :func:`run_checks`, whose view of the output they read)."""
    for check, condition in rows_to_keep(spec.processing_logic, results):
        view = input_view(check.input) if check.input else _OUTPUT_VIEW
        query = exp.select("*").from_(exp.table_(view, quoted=True)).where(condition)
        target = staging / failing_rows_file(check.check_name)
        target.parent.mkdir(parents=True)
        con.execute(f"COPY ({query.sql(dialect=DIALECT, identify=True)}) TO $path (FORMAT json)", {"path": str(target)})
