"""
Run a job's data-quality checks on Spark: over the staged output, after it is written and before it is committed.

The staged files are read back (Parquet as written; CSV and JSON with the schema of the written DataFrame), and each
checked relation (the output, an input's DataFrame) is scanned once by one ``agg`` of every aggregate of its checks
(:func:`~airflow_provider_enterprise.compiler.checks.check_queries`, generated for Spark SQL from the same trees as
DuckDB's). The verdicts come from :func:`~airflow_provider_enterprise.compiler.checks.judge`, as on DuckDB.
No Airflow imports: this runs on Spark drivers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_enterprise.compiler.checks import CheckResult, check_queries, judge, rows_to_keep
from airflow_provider_enterprise.compiler.plan import Column, normalize_type
from airflow_provider_enterprise.spark_app.inputs import aggregated
from airflow_provider_enterprise.spec import FileFormat, JobSpec
from airflow_provider_enterprise.spec.checks import failing_rows_file

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

DIALECT = "spark"


def _staged(spark: SparkSession, location: Path | str, output_format: FileFormat, schema: StructType) -> DataFrame:
    reader = spark.read.format(output_format.value)
    if output_format is FileFormat.CSV:
        reader = reader.option("header", "true").schema(schema)
    elif output_format is FileFormat.JSON:
        reader = reader.schema(schema)
    return reader.load(str(location))


def columns_of(frame: DataFrame) -> list[Column]:
    """A DataFrame's columns with our type names."""
    return [Column(f.name, normalize_type(f.dataType.simpleString())) for f in frame.schema.fields]


def run_checks(
    spark: SparkSession,
    spec: JobSpec,
    *,
    location: Path | str,
    schema: StructType,
    inputs: Mapping[str, DataFrame],
) -> list[CheckResult]:
    """
    Check ``spec``'s output staged at ``location`` (written with ``schema``) and the inputs its checks name.

    :param inputs: each input's rows, by name.
    :return: every check's result, in the order of the spec's checks.
    """
    from pyspark.sql import functions as F

    results: list[CheckResult] = []
    for query in check_queries(spec.processing_logic):
        if query.target == "output":
            frame = _staged(spark, location, spec.output_format, schema)
        else:
            frame = inputs[query.target.removeprefix("input:")]
        aggregates = [F.expr(sql).alias(alias) for alias, sql in query.expressions(DIALECT)]
        row = aggregated(frame, aggregates) if aggregates else {}
        results.extend(judge(query, row, columns_of(frame)))
    order = {c.check_name: i for i, c in enumerate(spec.processing_logic.checks)}
    return sorted(results, key=lambda r: order[r.name])


def failing_rows(
    spark: SparkSession,
    spec: JobSpec,
    results: list[CheckResult],
    *,
    location: Path | str,
    schema: StructType,
    inputs: Mapping[str, DataFrame],
) -> list[tuple[str, DataFrame]]:
    """The failing rows of each failed row-level check with ``keep_failing_rows``: (file in the output, rows)."""
    from pyspark.sql import functions as F

    kept = []
    for check, condition in rows_to_keep(spec.processing_logic, results):
        frame = inputs[check.input] if check.input else _staged(spark, location, spec.output_format, schema)
        kept.append((failing_rows_file(check.check_name), frame.filter(F.expr(condition.sql(DIALECT, identify=True)))))
    return kept
