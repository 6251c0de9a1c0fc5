"""
Read a job's inputs as Spark DataFrames, with the same columns, record counts and bad rows as DuckDB.

CSV inputs are read with every column as a string in PERMISSIVE mode with a corrupt-record column (column
pruning off, so a record with the wrong number of fields is always flagged), then checked and converted with
the engine-neutral rules of :mod:`airflow_provider_enterprise.compiler.bad_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, declarable_type
from airflow_provider_enterprise.spec import FileFormat, InputSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation, SparkSession

CORRUPT_RECORD = "__corrupt_record"


@dataclass(frozen=True)
class SparkInput:
    """An input read by Spark: its good rows (typed), its bad rows (or None) and its columns; for CSV, every
    record with its bad-row reason (``checked``)."""

    name: str
    columns: tuple[Column, ...]
    good: DataFrame
    bad: DataFrame | None = None
    checked: DataFrame | None = None

    def count(self) -> tuple[int, int]:
        """Return the input's records and bad rows (one scan)."""
        if self.checked is None:
            return self.good.count(), 0

        row = self.checked.agg(*_counters()).first()
        return int(row["records"]), int(row["bad"])

    def observed(self, observation: Observation) -> DataFrame:
        """
        Return the good rows with ``observation`` counting every record and bad row as a query reads them.

        :raises ValueError: the input is not CSV (only CSV inputs are checked row by row).
        """
        if self.checked is None:
            raise ValueError(f"input {self.name!r} has no row checks to observe")
        return _good_rows(self.checked.observe(observation, *_counters()), self.columns)


def _counters() -> list:
    """The records and bad rows of a checked input, as aggregates named ``records`` and ``bad``."""
    from pyspark.sql import functions as F

    return [F.count(F.lit(1)).alias("records"), F.count(bad_rows.REASON).alias("bad")]


def _good_rows(checked: DataFrame, columns: tuple[Column, ...]) -> DataFrame:
    from pyspark.sql import functions as F

    projection = [F.expr(e.sql(dialect="spark", identify=True)) for e in bad_rows.typed_projection(columns)]
    return checked.filter(F.col(bad_rows.REASON).isNull()).select(*projection)


def _csv_reader(spark: SparkSession, source: InputSpec):
    return (
        spark.read.option("header", str(source.header).lower())
        .option("sep", source.delimiter)
        .option("quote", source.quote)
        .option("escape", source.quote)
        .option("multiLine", "false")
        .option("enforceSchema", "true")
    )


def _declared_columns(spark: SparkSession, source: InputSpec, files: list[str]) -> tuple[Column, ...]:
    if source.column_types:
        return tuple(Column(c, t) for c, t in source.column_types.items())
    sniffed = _csv_reader(spark, source).option("inferSchema", "true").option("mode", "DROPMALFORMED").csv(files)
    return tuple(Column(f.name, declarable_type(f.dataType.simpleString())) for f in sniffed.schema.fields)


def read_input(spark: SparkSession, name: str, source: InputSpec, files: list[str]) -> SparkInput:
    """Read input ``name`` from ``files``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    file_format = source.resolved_format()
    if file_format is FileFormat.PARQUET:
        frame = spark.read.parquet(*files)
    elif file_format is FileFormat.JSON:
        frame = spark.read.option("mode", "FAILFAST").json(files)
    else:
        frame = None
    if frame is not None:
        columns = tuple(Column(f.name, declarable_type(f.dataType.simpleString())) for f in frame.schema.fields)
        return SparkInput(name, columns, frame)

    columns = _declared_columns(spark, source, files)
    schema = StructType(
        [StructField(c.name, StringType()) for c in columns] + [StructField(CORRUPT_RECORD, StringType())]
    )
    raw = (
        _csv_reader(spark, source)
        .schema(schema)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(files)
    )
    reason = F.when(F.col(CORRUPT_RECORD).isNotNull(), F.lit(bad_rows.MALFORMED)).otherwise(
        F.expr(bad_rows.reason_expression(columns).sql(dialect="spark", identify=True))
    )
    normalized = [F.expr(e.sql(dialect="spark", identify=True)) for e in bad_rows.empty_as_null(columns)]
    checked = raw.select(*normalized, F.col(CORRUPT_RECORD)).withColumn(bad_rows.REASON, reason)
    good = _good_rows(checked, columns)
    bad = checked.filter(F.col(bad_rows.REASON).isNotNull()).select(
        F.lit(name).alias("input"),
        F.col(bad_rows.REASON).alias("reason"),
        F.col(CORRUPT_RECORD).alias("record"),
        F.struct(*(F.col(f"`{c.name}`") for c in columns)).alias("values"),
    )
    return SparkInput(name, columns, good, bad, checked)
