"""The local engine: runs a job in-process with DuckDB."""

from __future__ import annotations

import glob
import logging
import threading
import time
from pathlib import Path

from airflow_provider_enterprise.compiler.duckdb import compile_plan
from airflow_provider_enterprise.compiler.plan import Column, Plan, PlanError, build_plan, normalize_type
from airflow_provider_enterprise.engines.base import JobResult
from airflow_provider_enterprise.engines.commit import staged_output
from airflow_provider_enterprise.exceptions import (
    InputNotFoundError,
    JobTimeoutError,
    OutputExistsError,
    PlanningError,
)
from airflow_provider_enterprise.resilience.checkpoint import StageCheckpoints
from airflow_provider_enterprise.spec import FileFormat, InputSpec, JobSpec, LimitTransformation, WriteMode

log = logging.getLogger(__name__)

#: How often the watchdog re-sends an interrupt after the deadline (a query may start between two sends).
_INTERRUPT_EVERY = 0.05

_STAGE_SOURCE = "__stage_source"


def _relation(name: str) -> str:
    return f"__input_{name}"


def _require_input(name: str, source: InputSpec) -> list[str]:
    files = source.files()
    if not files:
        what = "matches no file" if glob.has_magic(source.path) else "does not exist or holds no data file"
        raise InputNotFoundError(f"input {name!r}: {source.path!r} {what}")
    return files


class _Deadline:
    """Interrupt a DuckDB connection, again and again, once ``timeout`` seconds have passed."""

    def __init__(self, con, timeout: float | None) -> None:
        self._con = con
        self._timeout = timeout
        self._done = threading.Event()
        self.expired = False
        self._thread = threading.Thread(target=self._watch, name="duckdb-deadline", daemon=True)

    def _watch(self) -> None:
        if self._done.wait(self._timeout):
            return
        self.expired = True
        while not self._done.is_set():
            self._con.interrupt()
            self._done.wait(_INTERRUPT_EVERY)

    def __enter__(self) -> _Deadline:
        if self._timeout:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


class LocalEngine:
    """
    Run jobs in-process with DuckDB.

    :param threads: DuckDB worker threads (``engines.local.max_workers``).
    :param memory_limit: DuckDB memory limit such as ``"4GB"``; DuckDB's default when None.
    """

    name = "local"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def _connect(self):
        import duckdb

        config: dict[str, str | int] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        return duckdb.connect(database=":memory:", config=config)

    def run(self, spec: JobSpec) -> JobResult:
        """Run ``spec`` and commit its output atomically; raise :class:`JobTimeoutError` past its timeout."""
        import duckdb

        files = {name: _require_input(name, source) for name, source in spec.inputs.items()}
        if spec.mode is WriteMode.ERROR_IF_EXISTS and Path(spec.output_path).exists():
            raise OutputExistsError(f"output_path {spec.output_path!r} exists and mode is error_if_exists")
        started = time.monotonic()
        execute = self._execute_in_stages if spec.processing_logic.checkpoint else self._execute
        con = self._connect()
        try:
            with _Deadline(con, spec.timeout):
                schemas = {
                    name: self._register_input(con, name, source, files[name]) for name, source in spec.inputs.items()
                }
                try:
                    plan = build_plan(spec.processing_logic, schemas, spec.primary_input)
                except PlanError as err:
                    raise PlanningError(f"job {spec.job_name!r}: {err}") from None
                rows_in = sum(self._count(con, _relation(name)) for name in spec.inputs)
                rows_out, files_out, resumed = execute(con, spec, plan)
        except duckdb.InterruptException:
            raise JobTimeoutError(f"job {spec.job_name!r} exceeded its timeout of {spec.timeout} s") from None
        finally:
            con.close()
        return JobResult(
            engine=self.name,
            output_path=spec.output_path,
            rows_in=rows_in,
            rows_out=rows_out,
            duration_seconds=round(time.monotonic() - started, 3),
            output_files=files_out,
            resumed_after_stage=resumed,
        )

    @staticmethod
    def _count(con, relation: str) -> int:
        ((rows,),) = con.execute(f'SELECT count(*) FROM "{relation}"').fetchall()
        return int(rows)

    @staticmethod
    def _register_input(con, name: str, source: InputSpec, files: list[str]) -> tuple[Column, ...]:
        """Register input ``name`` as a view over ``files`` and return its columns."""
        file_format = source.resolved_format()
        if file_format is FileFormat.CSV:
            options: dict[str, object] = {"header": source.header, "sep": source.delimiter, "quotechar": source.quote}
            if source.column_types:
                options["names"] = list(source.column_types)
                options["dtype"] = [_duckdb_type(t) for t in source.column_types.values()]
            relation = con.read_csv(files, **options)
        elif file_format is FileFormat.PARQUET:
            relation = con.read_parquet(files, hive_partitioning=True, union_by_name=True)
        else:
            relation = con.read_json(files, format="newline_delimited")
        relation.create_view(_relation(name))
        described = con.execute(f'DESCRIBE "{_relation(name)}"').fetchall()
        return tuple(Column(row[0], normalize_type(row[1])) for row in described)

    @staticmethod
    def _commit(con, query: str, spec: JobSpec, output_path: str, output_format: FileFormat) -> tuple[int, list[str]]:
        options = {
            FileFormat.PARQUET: "FORMAT parquet",
            FileFormat.CSV: "FORMAT csv, HEADER",
            FileFormat.JSON: "FORMAT json",
        }[output_format]
        partition_by = spec.partition_by if output_path == spec.output_path else []
        with staged_output(output_path) as staging:
            if partition_by:
                columns = ", ".join(f'"{c}"' for c in partition_by)
                target = staging
                options += f", PARTITION_BY ({columns}), FILENAME_PATTERN 'part-{{i}}'"
            else:
                target = staging / f"part-00000.{_SUFFIX[output_format]}"
            ((rows,),) = con.execute(f"COPY ({query}) TO $path ({options})", {"path": str(target)}).fetchall()
            files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
        return int(rows), files

    def _execute(self, con, spec: JobSpec, plan: Plan) -> tuple[int, list[str], None]:
        """Run the whole spec as one query."""
        query = compile_plan(plan, {name: _relation(name) for name in spec.inputs})
        log.info("Compiled %s to DuckDB SQL: %s", spec.job_name, query)
        rows_out, files = self._commit(con, query, spec, spec.output_path, spec.output_format)
        return rows_out, files, None

    def _execute_in_stages(self, con, spec: JobSpec, plan: Plan) -> tuple[int, list[str], int | None]:
        """Run one committed stage per transformation (a sort with its limit), resuming after the last one."""
        checkpoints = StageCheckpoints(spec)
        resumed = checkpoints.last_committed()
        relations = {name: _relation(name) for name in spec.inputs}
        source = relations[spec.primary_input]
        if resumed is not None:
            log.info("Resuming %s after committed stage %s", spec.job_name, resumed)
            source = "resumed"
            con.read_parquet(str(checkpoints.path(resumed) / "*.parquet")).create_view(source)
        for stage in _stages(plan, after=resumed):
            stage_plan = plan.slice(stage[0], stage[-1], source=_STAGE_SOURCE)
            query = compile_plan(stage_plan, {**relations, _STAGE_SOURCE: source})
            self._commit(con, query, spec, str(checkpoints.path(stage[-1])), FileFormat.PARQUET)
            source = f"stage_{stage[-1]}"
            con.read_parquet(str(checkpoints.path(stage[-1]) / "*.parquet")).create_view(source)
            log.info("Committed stage %s of %s", stage[-1], spec.job_name)
        rows_out, files = self._commit(con, f'SELECT * FROM "{source}"', spec, spec.output_path, spec.output_format)
        checkpoints.remove()
        return rows_out, files, resumed


_SUFFIX = {FileFormat.PARQUET: "parquet", FileFormat.CSV: "csv", FileFormat.JSON: "jsonl"}


def _duckdb_type(type_name: str) -> str:
    return {"string": "VARCHAR", "timestamp": "TIMESTAMP"}.get(type_name, type_name.upper())


def _stages(plan: Plan, after: int | None) -> list[list[int]]:
    """Group the steps after ``after`` into stages: each step alone, a limit with the sort before it."""
    stages: list[list[int]] = []
    for step in plan.steps[0 if after is None else after + 1 :]:
        if isinstance(step.transformation, LimitTransformation) and stages:
            stages[-1].append(step.index)
        else:
            stages.append([step.index])
    return stages
