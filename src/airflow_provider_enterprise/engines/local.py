"""The local engine: runs a job in-process with DuckDB."""

from __future__ import annotations

import glob
import logging
import threading
import time
from pathlib import Path

from airflow_provider_enterprise.compiler.duckdb import compile_query
from airflow_provider_enterprise.engines.base import JobResult
from airflow_provider_enterprise.engines.commit import staged_output
from airflow_provider_enterprise.exceptions import InputNotFoundError, JobTimeoutError
from airflow_provider_enterprise.resilience.checkpoint import StageCheckpoints
from airflow_provider_enterprise.spec import FileFormat, JobSpec, ProcessingLogic

log = logging.getLogger(__name__)

#: How often the watchdog re-sends an interrupt after the deadline (a query may start between two sends).
_INTERRUPT_EVERY = 0.05

_SOURCE = "source"


def _require_input(path: str) -> None:
    if glob.has_magic(path):
        if not glob.glob(path):
            raise InputNotFoundError(f"input_path {path!r} matches no file")
    elif not Path(path).exists():
        raise InputNotFoundError(f"input_path {path!r} does not exist")


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

        _require_input(spec.input_path)
        started = time.monotonic()
        execute = self._execute_in_stages if spec.processing_logic.checkpoint else self._execute
        con = self._connect()
        try:
            with _Deadline(con, spec.timeout):
                rows_in, rows_out, files, resumed = execute(con, spec)
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
            output_files=files,
            resumed_after_stage=resumed,
        )

    @staticmethod
    def _register_input(con, spec: JobSpec) -> int:
        if spec.resolved_input_format() is FileFormat.CSV:
            relation = con.read_csv(spec.input_path, header=True)
        else:
            relation = con.read_parquet(spec.input_path)
        relation.create_view(_SOURCE)
        ((rows_in,),) = con.execute(f'SELECT count(*) FROM "{_SOURCE}"').fetchall()
        return int(rows_in)

    @staticmethod
    def _commit(con, query: str, output_path: str, output_format: FileFormat) -> tuple[int, str]:
        copy_options = "FORMAT parquet" if output_format is FileFormat.PARQUET else "FORMAT csv, HEADER"
        with staged_output(output_path) as staging:
            part = staging / f"part-00000.{output_format.value}"
            ((rows,),) = con.execute(f"COPY ({query}) TO $path ({copy_options})", {"path": str(part)}).fetchall()
        return int(rows), part.name

    def _execute(self, con, spec: JobSpec) -> tuple[int, int, list[str], None]:
        """Run the whole spec as one query."""
        query = compile_query(spec.processing_logic, source=_SOURCE)
        log.info("Compiled %s to DuckDB SQL: %s", spec.job_name, query)
        rows_in = self._register_input(con, spec)
        rows_out, part = self._commit(con, query, spec.output_path, spec.output_format)
        return rows_in, rows_out, [part], None

    def _execute_in_stages(self, con, spec: JobSpec) -> tuple[int, int, list[str], int | None]:
        """Run one committed stage per transformation, resuming after the last committed one."""
        checkpoints = StageCheckpoints(spec)
        rows_in = self._register_input(con, spec)
        resumed = checkpoints.last_committed()
        source = _SOURCE
        if resumed is not None:
            log.info("Resuming %s after committed stage %s", spec.job_name, resumed)
            con.read_parquet(str(checkpoints.path(resumed) / "*.parquet")).create_view("resumed")
            source = "resumed"
        transformations = spec.processing_logic.transformations
        for stage in range(0 if resumed is None else resumed + 1, len(transformations)):
            query = compile_query(ProcessingLogic(transformations=[transformations[stage]]), source=source)
            self._commit(con, query, str(checkpoints.path(stage)), FileFormat.PARQUET)
            source = f"stage_{stage}"
            con.read_parquet(str(checkpoints.path(stage) / "*.parquet")).create_view(source)
            log.info("Committed stage %s of %s", stage, spec.job_name)
        rows_out, part = self._commit(con, f'SELECT * FROM "{source}"', spec.output_path, spec.output_format)
        checkpoints.remove()
        return rows_in, rows_out, [part], resumed
