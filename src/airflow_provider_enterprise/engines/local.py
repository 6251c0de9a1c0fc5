"""The local engine: runs a job in-process with DuckDB."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.compiler.checks import CheckResult, describe_failures, failed_checks
from airflow_provider_enterprise.compiler.duckdb import compile_plan
from airflow_provider_enterprise.compiler.lineage import recorded_columns
from airflow_provider_enterprise.compiler.masking import INNER_PAD, OUTER_PAD, MaskingKey, key_relation, require_keys
from airflow_provider_enterprise.compiler.plan import Plan, PlanError, plan_job
from airflow_provider_enterprise.config import LocalEngineSettings
from airflow_provider_enterprise.engines import csv_proof
from airflow_provider_enterprise.engines.base import JobResult
from airflow_provider_enterprise.engines.csv_proof import ProofRefuted, ProofStopped
from airflow_provider_enterprise.engines.duckdb_checks import run_checks, write_failing_rows
from airflow_provider_enterprise.engines.duckdb_inputs import (
    BadRows,
    RegisteredInput,
    input_columns,
    proof_refuted,
    register,
    relation_name,
    scanned_records,
)
from airflow_provider_enterprise.engines.object_inputs import download_inputs
from airflow_provider_enterprise.engines.one_scan_check import one_scan_refuted
from airflow_provider_enterprise.engines.quarantine import write as write_quarantine
from airflow_provider_enterprise.engines.reuse import earlier_tries
from airflow_provider_enterprise.exceptions import (
    BadRowsError,
    DataQualityError,
    JobCancelledError,
    JobTimeoutError,
    PlanningError,
)
from airflow_provider_enterprise.output.checkpoints import StageCheckpoints
from airflow_provider_enterprise.output.commit import (
    bad_rows_location,
    check_writable,
    job_manifest,
    staged,
    write_manifest,
)
from airflow_provider_enterprise.spec import (
    BadRowPolicy,
    FileFormat,
    JobSpec,
)

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

#: How often the watchdog re-sends an interrupt after the deadline (a query may start between two sends).
_INTERRUPT_EVERY = 0.05

_STAGE_SOURCE = "__stage_source"

#: Describes a committed output for its manifest, from its rows, files and check results.
Describe = Callable[[int, list[str], list[CheckResult]], dict[str, Any]]


class _Deadline:
    """Interrupt a DuckDB connection, again and again, once ``timeout`` seconds have passed."""

    def __init__(self, con: DuckDBPyConnection, timeout: float | None) -> None:
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
    :param masking_keys: the keys ``mask`` hashes with, by connection id.
    :param proof_min_bytes: prove CSV inputs of at least this many bytes free of bad rows with Polars first
        (``engines.local.csv_proof_min_bytes``, see :mod:`.csv_proof`); None checks every input with DuckDB alone.
    :param filesystems: the filesystems of the object stores the jobs' paths name, by store (``s3``...): inputs
        there are copied to a private temporary directory and read there (:mod:`.object_inputs`), outputs there
        are published with a manifest (:mod:`airflow_provider_enterprise.output.object_store`).
    :param run_id: the name the run commits as: its output's manifest (``_manifest.json``, with the figures of the
        job's result) and the result's ``external_id`` carry it (see :mod:`.reuse`).
    """

    name = "local"

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        masking_keys: Mapping[str, MaskingKey] | None = None,
        proof_min_bytes: int | None = None,
        filesystems: Mapping[str, AbstractFileSystem] | None = None,
        run_id: str | None = None,
    ) -> None:
        self.run_id = run_id or f"local-{uuid.uuid4().hex[:12]}"
        self.threads = threads
        self.memory_limit = memory_limit
        self.masking_keys = dict(masking_keys or {})
        self.proof_min_bytes = proof_min_bytes
        self.filesystems = dict(filesystems or {})
        self._origins: dict[str, str] = {}  # the running job's copied inputs: local path -> URI
        self._con: DuckDBPyConnection | None = None
        self._killed = threading.Event()

    @classmethod
    def from_settings(
        cls,
        settings: LocalEngineSettings,
        masking_keys: Mapping[str, MaskingKey] | None = None,
        filesystems: Mapping[str, AbstractFileSystem] | None = None,
        run_id: str | None = None,
    ) -> LocalEngine:
        """The engine the ``engines.local`` section describes."""
        return cls(
            threads=settings.max_workers,
            memory_limit=settings.memory_limit,
            masking_keys=masking_keys,
            proof_min_bytes=settings.csv_proof_min_bytes,
            filesystems=filesystems,
            run_id=run_id,
        )

    def kill(self) -> None:
        """Interrupt the running query (the task was marked failed, cleared, or its run cancelled)."""
        self._killed.set()
        con = self._con
        if con is not None:
            con.interrupt()

    def _connect(self) -> DuckDBPyConnection:
        import duckdb

        config: dict[str, Any] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        return duckdb.connect(database=":memory:", config=config)

    def run(self, spec: JobSpec) -> JobResult:
        """Run ``spec`` and commit its output atomically; raise :class:`JobTimeoutError` past its timeout."""
        keys = require_keys(spec.processing_logic.masking_key_conn_ids(), self.masking_keys)
        check_writable(spec, self.filesystems)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="enterprise-inputs-") as copies:
            local, self._origins = download_inputs(spec, self.filesystems, Path(copies))
            files = {name: source.require_files(name) for name, source in local.inputs.items()}
            try:
                return self._run(local, files, keys, started, checked=False)
            except ProofRefuted as err:  # nothing was committed
                log.warning("Running %s again, its inputs checked by DuckDB: %s", spec.job_name, err)
                return self._run(local, files, keys, started, checked=True)

    def _worth_proving(self, files: list[str]) -> bool:
        return self.proof_min_bytes is not None and csv_proof.worth_proving(files, self.proof_min_bytes)

    def _run(
        self, spec: JobSpec, files: dict[str, list[str]], keys: Mapping[str, MaskingKey], started: float, checked: bool
    ) -> JobResult:
        """Run ``spec`` once; unless ``checked``, its CSV inputs are proven good by Polars or read in one scan (a
        checkpointed job's stages read them apart, so it is never read in one scan)."""
        import duckdb

        execute = self._execute_in_stages if spec.processing_logic.checkpoint else self._execute
        con = self._con = self._connect()
        try:
            if self._killed.is_set():  # killed between connecting and the first query
                con.interrupt()
            # a job run again after a refuted proof keeps its first run's deadline
            remaining = spec.timeout and max(spec.timeout - (time.monotonic() - started), 0.001)
            with _Deadline(con, remaining) as deadline:
                # Plan first: a column that does not exist fails the job before any data is read.
                columns = {name: input_columns(con, name, source, files[name]) for name, source in spec.inputs.items()}
                try:
                    plan = plan_job(spec, columns)
                except PlanError as err:
                    raise PlanningError(f"job {spec.job_name!r}: {err}") from None

                def stopped() -> bool:
                    return self._killed.is_set() or deadline.expired

                inputs = {
                    name: register(
                        con,
                        name,
                        source,
                        files[name],
                        columns[name],
                        stopped,
                        prove=not checked and self._worth_proving(files[name]),
                        one_scan=not checked and not spec.processing_logic.checkpoint,
                    )
                    for name, source in spec.inputs.items()
                }
                self._check_bad_rows(spec, inputs)
                _register_keys(con, keys)
                quarantine = {name: i.bad for name, i in inputs.items() if i.bad}
                if spec.on_bad_rows is not BadRowPolicy.QUARANTINE:
                    quarantine = {}

                def confirm() -> None:
                    counted = scanned_records(con, inputs)  # first: the profile is the last query's
                    for name, registered in inputs.items():
                        if registered.scanned is not None:
                            if name not in counted:
                                raise ProofRefuted(f"input {name!r}: the job's scan did not read it whole")
                            inputs[name] = replace(registered, records=counted[name])
                        if why := proof_refuted(con, registered):
                            raise ProofRefuted(f"input {name!r}: {why}")

                def describe(rows_out: int, files: list[str], checks: list[CheckResult]) -> dict[str, Any]:
                    return job_manifest(
                        spec,
                        engine=self.name,
                        run_id=self.run_id,
                        files=files,
                        rows_out=rows_out,
                        inputs={n: {"records": i.records, "bad_rows": i.bad_rows} for n, i in inputs.items()},
                        quarantined=bool(quarantine),
                        input_columns=recorded_columns(plan),
                        checks=[r.to_dict() for r in checks],
                        timings={"total_seconds": round(time.monotonic() - started, 3)},
                    )

                try:
                    rows_out, files_out, resumed, checks = execute(con, spec, plan, quarantine, confirm, describe)
                except duckdb.Error as err:
                    if not one_scan_refuted(err) or all(i.scanned is None for i in inputs.values()):
                        raise
                    raise ProofRefuted(f"the job's scan met a bad row ({type(err).__name__})") from None
        except (duckdb.InterruptException, ProofStopped):
            if self._killed.is_set():
                raise JobCancelledError(f"job {spec.job_name!r} was stopped; nothing was committed") from None
            raise JobTimeoutError.of(spec.job_name, spec.timeout) from None
        finally:
            self._con = None
            con.close()
        return JobResult(
            engine=self.name,
            external_id=self.run_id,
            output_path=spec.output_path,
            rows_in=sum(i.records for i in inputs.values()),
            rows_out=rows_out,
            duration_seconds=round(time.monotonic() - started, 3),
            output_files=files_out,
            resumed_after_stage=resumed,
            bad_rows=sum(i.bad_rows for i in inputs.values()),
            bad_rows_path=bad_rows_location(spec.output_path) if quarantine else None,
            input_records={name: i.records for name, i in inputs.items()},
            input_columns=recorded_columns(plan),
            checks=[r.to_dict() for r in checks],
        )

    @staticmethod
    def _check_bad_rows(spec: JobSpec, inputs: dict[str, RegisteredInput]) -> None:
        bad = {name: i for name, i in inputs.items() if i.bad_rows}
        for name, registered in bad.items():
            log.warning(
                "Input %r of %s has %s bad rows of %s records (%s); on_bad_rows=%s",
                name,
                spec.job_name,
                registered.bad_rows,
                registered.records,
                registered.first_bad_reason,
                spec.on_bad_rows.value,
            )
        if bad and spec.on_bad_rows is BadRowPolicy.FAIL:
            details = "; ".join(f"input {n!r}: {i.bad_rows} ({i.first_bad_reason})" for n, i in bad.items())
            raise BadRowsError(f"job {spec.job_name!r} has bad input rows and on_bad_rows is fail: {details}")

    def _commit(
        self,
        con: DuckDBPyConnection,
        query: str,
        spec: JobSpec,
        output_path: str,
        output_format: FileFormat,
        confirm: Callable[[], None],
        quarantine: Mapping[str, BadRows] | None = None,
        describe: Describe | None = None,
    ) -> tuple[int, list[str], list[CheckResult]]:
        """Write ``query``'s rows (and the quarantined rows) to ``output_path``; ``confirm`` raises before the commit
        when a proof of the inputs did not hold. The job's checks run on the staged output (:mod:`.duckdb_checks`):
        return their results; a failed ``fail`` check raises :class:`DataQualityError` and nothing is committed.
        ``describe`` gives the manifest written last into the staged output (the job's output's, not a stage's)."""
        options = {
            FileFormat.PARQUET: "FORMAT parquet",
            FileFormat.CSV: "FORMAT csv, HEADER",
            FileFormat.JSON: "FORMAT json",
        }[output_format]
        partition_by = spec.partition_by if output_path == spec.output_path else []
        with staged(output_path, self.filesystems, self.run_id, earlier_tries(self.run_id)) as staging:
            if partition_by:
                columns = ", ".join(f'"{c}"' for c in partition_by)
                target = staging
                options += f", PARTITION_BY ({columns}), FILENAME_PATTERN 'part-{{i}}'"
            else:
                target = staging / f"part-00000.{_SUFFIX[output_format]}"
            ((rows,),) = con.execute(f"COPY ({query}) TO $path ({options})", {"path": str(target)}).fetchall()
            confirm()
            results = []
            if output_path == spec.output_path and spec.processing_logic.checks:
                results = run_checks(
                    con, spec, query=query, staging=staging, partition_by=partition_by, input_view=relation_name
                )
                if failed_checks(results):  # raised inside the staging: nothing is published
                    raise DataQualityError(describe_failures(spec.job_name, results), [r.to_dict() for r in results])
                write_failing_rows(con, spec, results, staging, input_view=relation_name)
            if quarantine:  # each input's located records are read before the next input's queries run
                located = ((name, bad.files, *bad.located(con)) for name, bad in quarantine.items())
                write_quarantine(located, staging, self._origins)
            files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
            if describe is not None:
                write_manifest(staging, describe(int(rows), files, results))
        return int(rows), files, results

    def _execute(
        self,
        con: DuckDBPyConnection,
        spec: JobSpec,
        plan: Plan,
        quarantine: Mapping[str, BadRows],
        confirm: Callable[[], None],
        describe: Describe,
    ) -> tuple[int, list[str], None, list[CheckResult]]:
        """Run the whole spec as one query."""
        query = compile_plan(plan, {name: relation_name(name) for name in spec.inputs})
        log.info("Compiled %s to DuckDB SQL: %s", spec.job_name, query)
        rows_out, files, checks = self._commit(
            con, query, spec, spec.output_path, spec.output_format, confirm, quarantine, describe
        )
        return rows_out, files, None, checks

    def _execute_in_stages(
        self,
        con: DuckDBPyConnection,
        spec: JobSpec,
        plan: Plan,
        quarantine: Mapping[str, BadRows],
        confirm: Callable[[], None],
        describe: Describe,
    ) -> tuple[int, list[str], int | None, list[CheckResult]]:
        """Run one committed stage per transformation (a sort with its limit), resuming after the last one."""
        checkpoints = StageCheckpoints(spec)
        resumed = checkpoints.last_committed()
        relations = {name: relation_name(name) for name in spec.inputs}
        source = relations[spec.primary_input]
        if resumed is not None:
            log.info("Resuming %s after committed stage %s", spec.job_name, resumed)
            source = "resumed"
            con.read_parquet(str(checkpoints.path(resumed) / "*.parquet")).create_view(source)
        for stage in _stages(plan, after=resumed):
            stage_plan = plan.slice(stage[0], stage[-1], source=_STAGE_SOURCE)
            query = compile_plan(stage_plan, {**relations, _STAGE_SOURCE: source})
            self._commit(con, query, spec, str(checkpoints.path(stage[-1])), FileFormat.PARQUET, confirm)
            source = f"stage_{stage[-1]}"
            con.read_parquet(str(checkpoints.path(stage[-1]) / "*.parquet")).create_view(source)
            log.info("Committed stage %s of %s", stage[-1], spec.job_name)
        final = f'SELECT * FROM "{source}"'
        rows_out, files, checks = self._commit(
            con, final, spec, spec.output_path, spec.output_format, confirm, quarantine, describe
        )
        checkpoints.remove()
        return rows_out, files, resumed, checks


def _register_keys(con: DuckDBPyConnection, keys: Mapping[str, MaskingKey]) -> None:
    """Hold each key's HMAC pads in a one-row table, bound as parameters: the SQL text never holds a key."""
    for conn_id, key in keys.items():
        table = key_relation(conn_id)
        con.execute(f'CREATE TEMP TABLE "{table}" ("{INNER_PAD}" BLOB, "{OUTER_PAD}" BLOB)')
        inner, outer = key.pads()
        con.execute(f'INSERT INTO "{table}" VALUES ($inner, $outer)', {"inner": inner, "outer": outer})


_SUFFIX = {FileFormat.PARQUET: "parquet", FileFormat.CSV: "csv", FileFormat.JSON: "jsonl"}


def _stages(plan: Plan, after: int | None) -> list[list[int]]:
    """Group the steps after ``after`` into stages: each step alone, a limit with the sort before it."""
    return [[step.index] + ([step.index + 1] if limit else []) for step, limit in plan.operations(after)]
