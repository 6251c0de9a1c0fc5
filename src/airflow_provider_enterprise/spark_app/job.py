"""
Run a job spec on a SparkSession: read the inputs, check their bad rows, compile the plan, write and commit.

One function serves both ways a job reaches Spark: the spark-submit application (:mod:`.main`, on the
driver's session) and Spark Connect (the task's remote session). A local output is written to a hidden staging
directory beside ``output_path``; the manifest (files, row counts, bad rows, timings) is written into it last
and the directory is renamed into place. An output URI (``s3a://``, ``gs://``, ``abfss://``, ``file://``) is
committed through Hadoop's FileSystem on the driver with the object stores' manifest commit
(:mod:`~airflow_provider_enterprise.output.hadoop_fs`), and URI inputs are listed through it. No Airflow imports:
this runs on Spark drivers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.compiler.checks import describe_failures, failed_checks
from airflow_provider_enterprise.compiler.lineage import recorded_columns
from airflow_provider_enterprise.compiler.masking import (
    INNER_PAD,
    OUTER_PAD,
    MaskingKey,
    key_relation,
    require_keys,
)
from airflow_provider_enterprise.compiler.plan import PlanError, plan_job
from airflow_provider_enterprise.compiler.spark import SESSION_CONF, compile_plan
from airflow_provider_enterprise.engines.object_inputs import require_objects
from airflow_provider_enterprise.engines.reuse import earlier_tries
from airflow_provider_enterprise.exceptions import BadRowsError, DataQualityError, JobCancelledError, PlanningError
from airflow_provider_enterprise.output.commit import (
    BAD_ROWS_FILE,
    check_writable,
    job_manifest,
    staged_output,
    write_manifest,
)
from airflow_provider_enterprise.output.hadoop_fs import HadoopFileSystem, HadoopStaging, staged_hadoop_output
from airflow_provider_enterprise.spark_app.checks import failing_rows, run_checks
from airflow_provider_enterprise.spark_app.counting import InputCounter
from airflow_provider_enterprise.spark_app.inputs import InputCount, SparkInput, read_input
from airflow_provider_enterprise.spec import BadRowPolicy, FileFormat, InputSpec, JobSpec
from airflow_provider_enterprise.spec.locations import scheme_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

_FORMATS = {FileFormat.PARQUET: "parquet", FileFormat.CSV: "csv", FileFormat.JSON: "json"}


def _write(frame: DataFrame, path: Path | str, spec_format: FileFormat, partition_by: list[str]) -> None:
    writer = frame.write.mode("overwrite").format(_FORMATS[spec_format])
    if spec_format is FileFormat.CSV:
        writer = writer.option("header", "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(str(path))


def _write_bad_rows(bad: list[DataFrame], staging: Path | str) -> None:
    """Write the quarantined rows as one JSON-lines file at :data:`BAD_ROWS_FILE` (the local engine's layout)."""
    union = bad[0]
    for frame in bad[1:]:
        union = union.unionByName(frame)
    _write_json_lines(union, staging, BAD_ROWS_FILE)


def _write_json_lines(frame: DataFrame, staging: Path | str, relative: str) -> None:
    """Write ``frame`` as one JSON-lines file at ``relative`` in a local staging directory, as Spark names it below
    the same folder in a staging location on a store (published under the names the manifest lists)."""
    if isinstance(staging, str):
        frame.coalesce(1).write.mode("overwrite").json(f"{staging}/{relative.rsplit('/', 1)[0]}")
        return
    target = staging / relative
    spark_dir = target.parent.with_name(target.parent.name + ".spark")
    frame.coalesce(1).write.mode("overwrite").json(str(spark_dir))
    target.parent.mkdir(parents=True)
    (part,) = spark_dir.glob("part-*")
    part.rename(target)
    for leftover in spark_dir.iterdir():
        leftover.unlink()
    spark_dir.rmdir()


def _data_files(staging: Path) -> list[str]:
    return sorted(
        str(p.relative_to(staging))
        for p in staging.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "_SUCCESS"
    )


class _QuotedLineBreaks(Exception):
    """Inputs read line by line have records split at quoted line breaks (:attr:`InputCount.split`)."""

    def __init__(self, names: set[str]) -> None:
        super().__init__(f"inputs {sorted(names)} have quoted line breaks")
        self.names = names


def _check_bad_rows(spec: JobSpec, inputs: dict[str, SparkInput], counts: dict[str, InputCount]) -> None:
    split = {name for name, count in counts.items() if count.split}
    if split:  # first: the split parts are bad rows that reading the input again with multiLine on mends
        raise _QuotedLineBreaks(split)
    for name, (records, bad, _) in counts.items():
        if bad:
            log.warning("Input %r of %s has %s bad rows of %s records", name, spec.job_name, bad, records)
    bad_inputs = {name: count.bad for name, count in counts.items() if count.bad}
    if bad_inputs and spec.on_bad_rows is BadRowPolicy.FAIL:
        details = []
        for name, bad in bad_inputs.items():
            rows = inputs[name].bad
            assert rows is not None  # an input's bad rows are counted from this frame
            first = rows.select("reason").take(1)[0]
            details.append(f"input {name!r}: {bad} ({first['reason']})")
        raise BadRowsError(f"job {spec.job_name!r} has bad input rows and on_bad_rows is fail: {'; '.join(details)}")


def _input_files(spark: SparkSession, name: str, source: InputSpec) -> list[str]:
    """The files input ``name`` reads: listed on the driver's filesystem, or through Hadoop's for a URI."""
    if "://" not in source.path:
        return source.require_files(name)
    listing = require_objects(HadoopFileSystem(spark, source.path), name, source.path)
    return [f"{listing.root}/{relative}" for relative in listing.sizes]


def _check(cancelled: threading.Event | None, spec: JobSpec) -> None:
    if cancelled is not None and cancelled.is_set():
        raise JobCancelledError(f"job {spec.job_name!r} was stopped before its output was committed")


def _key_frames(spark: SparkSession, keys: Mapping[str, MaskingKey]) -> dict[str, DataFrame]:
    """Each key's HMAC pads as a one-row DataFrame: data the plan joins, never a literal in its text."""
    schema = f"{INNER_PAD} binary, {OUTER_PAD} binary"
    return {key_relation(conn_id): spark.createDataFrame([key.pads()], schema) for conn_id, key in keys.items()}


def run_job(
    spark: SparkSession,
    spec: JobSpec,
    *,
    run_id: str,
    cancelled: threading.Event | None = None,
    masking_keys: Mapping[str, MaskingKey] | None = None,
) -> dict[str, Any]:
    """
    Run ``spec`` on ``spark`` and commit its output; return the manifest written into it.

    :param spark: a classic or Spark Connect session (its SQL settings are set to :data:`SESSION_CONF`).
    :param spec: the validated job.
    :param run_id: identifies this run in the manifest (the engine checks it to reuse a committed result).
    :param cancelled: once set, the job stops at its next step and commits nothing (Spark Connect interrupts
        the running operation; this catches the gaps between operations).
    :param masking_keys: the keys ``mask`` hashes with, by connection id.
    :raises MaskingKeyError: a ``mask`` hashes with a key that was not given.
    :raises PlanningError: the logic does not fit the inputs' columns (before the job's data is read).
    :raises BadRowsError: bad rows were found and ``on_bad_rows`` is ``fail``.
    :raises DataQualityError: a check of severity ``fail`` failed on the staged output (nothing is committed).
    """
    started = time.monotonic()
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    if spec.processing_logic.checkpoint:
        log.info("Stage checkpoints apply to the local engine; Spark recomputes the job on a retry")
    files = {name: _input_files(spark, name, source) for name, source in spec.inputs.items()}
    keys = require_keys(spec.processing_logic.masking_key_conn_ids(), masking_keys or {})
    output = spec.output_path
    check_writable(spec, {scheme_of(output): HadoopFileSystem(spark, output)} if "://" in output else None)
    multi_line: set[str] = set()
    while True:
        try:
            return _run(spark, spec, run_id, files, keys, multi_line, started, cancelled)
        except _QuotedLineBreaks as err:  # nothing was committed
            log.info("Reading inputs %s again with multiLine on: quoted line breaks", sorted(err.names))
            multi_line |= err.names


def _run(
    spark: SparkSession,
    spec: JobSpec,
    run_id: str,
    files: dict[str, list[str]],
    keys: Mapping[str, MaskingKey],
    multi_line: set[str],
    started: float,
    cancelled: threading.Event | None,
) -> dict[str, Any]:
    """One run of :func:`run_job`, reading the CSV inputs ``multi_line`` with ``multiLine`` on."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    inputs = {
        name: read_input(spark, name, source, files[name], name in multi_line) for name, source in spec.inputs.items()
    }
    try:
        plan = plan_job(spec, {name: read.columns for name, read in inputs.items()})
    except PlanError as err:
        raise PlanningError(f"job {spec.job_name!r}: {err}") from None
    counter = InputCounter(spark, spec, inputs)
    counts = counter.scanned()
    _check_bad_rows(spec, inputs, counts)
    _check(cancelled, spec)
    prepare_seconds = time.monotonic() - started  # inputs read, planned and (where not in the write) counted
    result = compile_plan(plan, {**counter.frames, **_key_frames(spark, keys)})
    observation = Observation("rows_out")
    observed = result.observe(observation, F.count(F.lit(1)).alias("rows"))
    on_store = "://" in spec.output_path
    with (
        staged_hadoop_output(spark, spec.output_path)
        if on_store
        else staged_output(spec.output_path, run_id, earlier_tries(run_id))
    ) as staging:
        location = staging.uri if isinstance(staging, HadoopStaging) else staging
        with counter.counting():
            _write(observed, location, spec.output_format, spec.partition_by)
        rows_out = int(observation.get["rows"])
        observed_counts = counter.observed()
        _check_bad_rows(spec, inputs, observed_counts)
        counts = {name: {**counts, **observed_counts}[name] for name in inputs}
        checks = []
        if spec.processing_logic.checks:
            checks = run_checks(spark, spec, location=location, schema=observed.schema, inputs=counter.frames)
            if failed_checks(checks):  # raised inside the staging: nothing is published
                raise DataQualityError(describe_failures(spec.job_name, checks), [r.to_dict() for r in checks])
        quarantine = [
            bad
            for name, count in counts.items()
            if count.bad and spec.on_bad_rows is BadRowPolicy.QUARANTINE and (bad := inputs[name].bad) is not None
        ]
        if quarantine:
            _write_bad_rows(quarantine, location)
        for relative, failing in failing_rows(
            spark, spec, checks, location=location, schema=observed.schema, inputs=counter.frames
        ):
            _write_json_lines(failing, location, relative)
        # on a store: the commit lists what it published
        data_files = [] if isinstance(staging, HadoopStaging) else _data_files(staging)
        manifest = job_manifest(
            spec,
            engine="spark",
            run_id=run_id,
            files=data_files,
            rows_out=rows_out,
            inputs={
                name: {
                    "records": count.records,
                    "bad_rows": count.bad,
                    "counted_in_write": name in counter.counted_in_write,
                    "multi_line": inputs[name].multi_line,
                }
                for name, count in counts.items()
            },
            quarantined=bool(quarantine),
            input_columns=recorded_columns(plan),
            checks=[r.to_dict() for r in checks],
            timings={
                "prepare_seconds": round(prepare_seconds, 3),
                "total_seconds": round(time.monotonic() - started, 3),
            },
            spark_version=spark.version,
        )
        if isinstance(staging, HadoopStaging):
            staging.extra = manifest
        else:
            write_manifest(staging, manifest)
        _check(cancelled, spec)
    log.info("Committed %s: %s rows in, %s rows out", spec.output_path, manifest["rows_in"], rows_out)
    if isinstance(staging, HadoopStaging):
        assert staging.manifest is not None  # the commit published it
        return staging.manifest
    return manifest
