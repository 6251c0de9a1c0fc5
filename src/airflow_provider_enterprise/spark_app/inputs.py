"""
Read a job's inputs as Spark DataFrames, with the same columns, record counts and bad rows as DuckDB.

CSV inputs are read with every column as a string in PERMISSIVE mode with a corrupt-record column (column
pruning off, so a record with the wrong number of fields is always flagged), then checked and converted with
the engine-neutral rules of :mod:`airflow_provider_enterprise.compiler.bad_rows`.

A CSV input is read line by line (``multiLine`` off: a file splits into parallel tasks) unless it has a quoted
line break. Read line by line, a record split at a quoted line break leaves at least one part with the wrong
number of fields and an unbalanced quote (the part that opens the quote and the part that closes it hold the
quoted field twice between them, so both cannot have every field, when there are two columns or more): the
counters report such malformed records as ``split`` (:class:`InputCount`), and the job reads that input again
with ``multiLine`` on (:mod:`.job`). An input of one column, whose split parts can look like good records, is
always read with ``multiLine`` on.

Empty fields after the last column (a trailing delimiter, quoted or not) are not more fields: DuckDB's reader drops
them, and so does this one (:func:`_trailing_empty_fields`), where Spark's parser calls the record malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, declarable_type
from airflow_provider_enterprise.spec import FileFormat, InputSpec

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, DataFrameReader, Observation, SparkSession

CORRUPT_RECORD = "__corrupt_record"
#: How many fields a record may have past the columns and be read again (see :func:`_trailing_empty_fields`).
_MOST_TRAILING = 128
#: True for a malformed record with an unbalanced quote, read line by line (see the module docstring).
_SPLIT = "__split"


class InputCount(NamedTuple):
    """An input's records and bad rows as read."""

    records: int
    bad: int
    #: Malformed records with an unbalanced quote, read line by line: a quoted line break split them (or a quote
    #: is never closed); the input must be read again with ``multiLine`` on.
    split: int = 0


@dataclass(frozen=True)
class SparkInput:
    """An input read by Spark: its good rows (typed), its bad rows (or None) and its columns; for CSV, every
    record with its bad-row reason (``checked``), and whether it was read with ``multiLine`` on."""

    name: str
    columns: tuple[Column, ...]
    good: DataFrame
    bad: DataFrame | None = None
    checked: DataFrame | None = None
    multi_line: bool = False

    def count(self) -> InputCount:
        """Return the input's records and bad rows (one scan)."""
        if self.checked is None:
            return InputCount(self.good.count(), 0)
        return counted(aggregated(self.checked, _counters()))

    def observed(self, observation: Observation) -> DataFrame:
        """
        Return the good rows with ``observation`` counting every record and bad row as a query reads them.

        :raises ValueError: the input is not CSV (only CSV inputs are checked row by row).
        """
        if self.checked is None:
            raise ValueError(f"input {self.name!r} has no row checks to observe")
        return _good_rows(self.checked.observe(observation, *_counters()), self.columns)


def aggregated(frame: DataFrame, aggregates: list[SparkColumn]) -> dict[str, Any]:
    """The values of ``aggregates`` over ``frame``, by alias (one scan; an aggregate without grouping is one row)."""
    row = frame.agg(*aggregates).first()
    assert row is not None
    return row.asDict()


def _counters() -> list[SparkColumn]:
    """The records, bad rows and split records of a checked input, as aggregates named after
    :class:`InputCount`'s fields (see :func:`counted`)."""
    from pyspark.sql import functions as F

    return [
        F.count(F.lit(1)).alias("records"),
        F.count(bad_rows.REASON).alias("bad"),
        F.count_if(F.col(_SPLIT)).alias("split"),
    ]


def counted(metrics: Mapping[str, Any]) -> InputCount:
    """The count of :func:`_counters`' aggregates ``metrics``."""
    return InputCount(*(int(metrics[field]) for field in InputCount._fields))


def _good_rows(checked: DataFrame, columns: tuple[Column, ...]) -> DataFrame:
    from pyspark.sql import functions as F

    projection = [F.expr(e.sql(dialect="spark", identify=True)) for e in bad_rows.typed_projection(columns)]
    return checked.filter(F.col(bad_rows.REASON).isNull()).select(*projection)


def _syntax(source: InputSpec) -> dict[str, str]:
    """How ``source``'s records split into fields, as Spark's CSV options."""
    return {"sep": source.delimiter, "quote": source.quote, "escape": source.quote}


def _csv_reader(spark: SparkSession, source: InputSpec, multi_line: bool = False) -> DataFrameReader:
    reader = spark.read.option("header", str(source.header).lower())
    for option, value in _syntax(source).items():
        reader = reader.option(option, value)
    return reader.option("multiLine", str(multi_line).lower()).option("enforceSchema", "true")


def _trailing_empty_fields(source: InputSpec, columns: tuple[Column, ...]) -> SparkColumn:
    """
    True for a record Spark's parser called malformed only because empty fields follow its last column.

    Its text without its trailing empty fields (unquoted or ``""``; ``k`` of them) is parsed again: that holds
    ``m`` fields, its last one not empty, and the record has ``m + k`` fields. It is the columns followed by empty
    fields when ``m <= columns < m + k`` and those ``m`` fields are the ones Spark's first parse gave the columns.
    """
    import re

    from pyspark.sql import functions as F

    corrupt = F.col(CORRUPT_RECORD)
    sep, quote = re.escape(source.delimiter), re.escape(source.quote)
    empties = f"(?:{sep}(?:{quote}{quote})?)+$"
    text = F.regexp_replace(corrupt, "\r$", "")
    trailing = F.regexp_extract(text, f"({empties})", 1)
    k = F.length(trailing) - F.length(F.translate(trailing, source.delimiter, ""))
    names = [f"f{i}" for i in range(len(columns) + _MOST_TRAILING)]
    fields = F.from_csv(F.regexp_replace(text, empties, ""), ", ".join(f"{n} STRING" for n in names), _syntax(source))
    m = F.coalesce(F.greatest(*(F.when(fields[n].isNotNull(), i + 1) for i, n in enumerate(names))), F.lit(0))
    condition = corrupt.isNotNull() & (k > 0) & (k <= _MOST_TRAILING) & (m <= len(columns)) & (m + k > len(columns))
    for name, column in zip(names, columns, strict=False):
        condition &= F.coalesce(fields[name], F.lit("")) == F.coalesce(F.col(f"`{column.name}`"), F.lit(""))
    return F.coalesce(condition, F.lit(False))


def _declared_columns(
    spark: SparkSession, name: str, source: InputSpec, files: list[str], multi_line: bool
) -> tuple[Column, ...]:
    if source.column_types:
        return tuple(Column(c, t) for c, t in source.column_types.items())
    # the first record as read: the header's names, which Spark renames when repeated or empty
    first = _csv_reader(spark, source, multi_line).option("header", "false").csv(files).first()
    sniffed = (
        _csv_reader(spark, source, multi_line).option("inferSchema", "true").option("mode", "DROPMALFORMED").csv(files)
    )
    generated = [f.name for f in sniffed.schema.fields]
    names = bad_rows.column_names(name, None if first is None else list(first), source.header, generated)
    types = [declarable_type(f.dataType.simpleString()) for f in sniffed.schema.fields]
    return tuple(Column(n, t) for n, t in zip(names, types, strict=True))


def read_input(
    spark: SparkSession, name: str, source: InputSpec, files: list[str], multi_line: bool = False
) -> SparkInput:
    """
    Read input ``name`` from ``files``.

    :param multi_line: read a CSV input with ``multiLine`` on (its records hold quoted line breaks, see
        :attr:`InputCount.split`).
    :raises InputHeaderError: a CSV input without a schema whose header cannot name its columns.
    """
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

    columns = _declared_columns(spark, name, source, files, multi_line)
    multi_line = multi_line or len(columns) == 1
    schema = StructType(
        [StructField(c.name, StringType()) for c in columns] + [StructField(CORRUPT_RECORD, StringType())]
    )
    raw = (
        _csv_reader(spark, source, multi_line)
        .schema(schema)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(files)
    )
    reason = F.when(F.col(CORRUPT_RECORD).isNotNull(), F.lit(bad_rows.MALFORMED)).otherwise(
        F.expr(bad_rows.reason_expression(columns).sql(dialect="spark", identify=True))
    )
    normalized = [F.expr(e.sql(dialect="spark", identify=True)) for e in bad_rows.empty_as_null(columns)]
    corrupt = F.col(CORRUPT_RECORD)
    quotes = F.length(corrupt) - F.length(F.translate(corrupt, source.quote, ""))
    split = F.lit(False) if multi_line else F.coalesce(quotes % 2 == 1, F.lit(False))
    # a record whose only fault (to Spark) is empty fields past its columns is a good record, as on DuckDB
    accepted = F.when(_trailing_empty_fields(source, columns), F.lit(None)).otherwise(corrupt).alias(CORRUPT_RECORD)
    checked = (
        raw.select(*(F.col(f"`{c.name}`") for c in columns), accepted, split.alias(_SPLIT))
        .select(*normalized, corrupt, F.col(_SPLIT))
        .withColumn(bad_rows.REASON, reason)
    )
    good = _good_rows(checked, columns)
    bad = checked.filter(F.col(bad_rows.REASON).isNotNull()).select(
        F.lit(name).alias("input"),
        F.col(bad_rows.REASON).alias("reason"),
        F.col(CORRUPT_RECORD).alias("record"),
        F.struct(*(F.col(f"`{c.name}`") for c in columns)).alias("values"),
    )
    return SparkInput(name, columns, good, bad, checked, multi_line)
