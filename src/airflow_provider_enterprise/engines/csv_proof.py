"""
Prove a CSV input free of bad rows with Polars' parallel reader, so that DuckDB can skip its own check scan.

The bad-row rules of :mod:`airflow_provider_enterprise.compiler.bad_rows` cost DuckDB a scan of their own, about
three times the query's (see docs/benchmarks.md); Polars reads the strings and matches the patterns in about half
that time. It only ever answers "every record is good" or "I cannot tell". Whatever it cannot judge the way
DuckDB would (a short record, an empty last field, a file ending in a delimiter, U+FFFD, a leap second)
makes it answer "I cannot tell", and DuckDB checks the input as before.

Polars and DuckDB split a few malformed files differently (a line ending that changes within the file), so the
engine confirms a proof: DuckDB's reader must reject no record of the input during the job's own scan, else the
job runs again with DuckDB's check before anything is committed (:func:`.duckdb_inputs.proof_refuted`).
``tests/integration/engines/test_csv_proof.py`` compares the proof with DuckDB's check on generated files.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column
from airflow_provider_enterprise.spec import InputSpec

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

#: Text no good field holds: U+FFFD (invalid encoding).
_NOT_IN_STRINGS = "\ufffd"
#: A time of day DuckDB converts (Polars also accepts a leap second 60, which DuckDB refuses).
_TIME_OF_DAY = r"[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"


class ProofStopped(Exception):
    """The job was stopped (killed or past its timeout) while Polars was reading the input."""


class ProofRefuted(Exception):
    """DuckDB's reader rejected a record of an input Polars proved free of bad rows (nothing is committed)."""


def _good(column: Column, value: pl.Expr) -> pl.Expr | None:
    """An expression that is true where the field is good under our rules and Polars converts it as DuckDB would;
    None when this module does not know the type (the input is then left to DuckDB)."""
    import polars as pl

    type_name = column.type or "string"
    if type_name == "string":
        return ~value.str.contains(_NOT_IN_STRINGS)
    pattern = bad_rows.type_pattern(type_name)
    if pattern is None:
        return None
    # A quoted empty field is '' (NULL by our rules); an unquoted one is null
    empty = value == ""
    matches = value.str.contains(pattern)
    # Every value matching the pattern of these types converts in DuckDB (a decimal's pattern bounds its digits; a
    # double past the range is infinite on both); the others need the conversion to rule out a range or a date.
    if type_name in ("double", "boolean") or type_name.startswith("decimal("):
        return empty | matches
    if type_name in ("int", "bigint"):
        converts = value.cast(pl.Int32 if type_name == "int" else pl.Int64, strict=False).is_not_null()
    elif type_name == "date":
        converts = value.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    elif type_name == "timestamp":
        timestamp = value.str.replace("T", " ", literal=True)
        converts = (
            value.str.contains(_TIME_OF_DAY)
            & timestamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us").is_not_null()
        )
    else:
        return None
    return empty | (matches & converts)


def _ends_well(path: str, delimiter: str) -> bool:
    """Whether a local file does not end in ``delimiter`` (Polars drops a last field left empty there, when no
    newline follows; DuckDB counts it)."""
    try:
        with open(path, "rb") as file:
            if file.seek(0, os.SEEK_END) == 0:
                return True
            file.seek(-1, os.SEEK_END)
            return file.read(1) != delimiter.encode()
    except OSError:  # not a local file: DuckDB reads it
        return False


def worth_proving(files: Sequence[str], min_bytes: int) -> bool:
    """Whether ``files`` are local and hold at least ``min_bytes`` together (below that size DuckDB's check costs
    less than starting Polars)."""
    try:
        return sum(os.path.getsize(path) for path in files) >= min_bytes
    except OSError:  # not local files: DuckDB reads them
        return False


def proven_records(
    source: InputSpec, files: Sequence[str], columns: Sequence[Column], stopped: Callable[[], bool] = lambda: False
) -> int | None:
    """
    The number of records of a CSV input when Polars proves every one of them good, else None.

    :param source: the input (header, delimiter, quote).
    :param files: its files.
    :param columns: its declared columns, by position.
    :param stopped: polled after every batch Polars reads; when it returns true the read stops and
        :class:`ProofStopped` is raised.
    """
    try:
        import polars as pl
    except ImportError:  # an environment without Polars checks with DuckDB alone
        return None
    checks = [check for i, c in enumerate(columns) if (check := _good(c, pl.nth(i))) is not None]
    if not columns or len(checks) < len(columns):  # a column of a type this module does not know
        return None
    if not all(_ends_well(path, source.delimiter) for path in files):
        return None
    started = time.monotonic()
    try:
        frame = pl.scan_csv(
            list(files),
            has_header=source.header,
            separator=source.delimiter,
            quote_char=source.quote,
            infer_schema=False,
            glob=False,  # the files are resolved already: a name holding '[' or '*' is a name
        )
        if len(frame.collect_schema()) != len(columns):
            return None
        # A short record reads as null in its last field: so does an unquoted empty last field; both go to DuckDB.
        last = pl.nth(len(columns) - 1).is_not_null()
        every_good = pl.all_horizontal(*(check.fill_null(True) for check in checks), last)
        records = 0
        # batch by batch (Polars' streaming engine, little memory), so a stopped job stops the read
        for batch in frame.select(every_good.alias("good")).collect_batches():
            if stopped():
                raise ProofStopped("the job was stopped while its input was read")
            if not batch["good"].all():
                log.info("Some records of %s may be bad; DuckDB checks them", source.path)
                return None
            records += batch.height
    except pl.exceptions.PolarsError as err:  # a record Polars cannot split: DuckDB's reader judges it
        log.info("Polars could not read %s (%s); DuckDB checks it", source.path, str(err).splitlines()[0])
        return None
    log.info("Polars proved all %s records of %s good in %.2f s", records, source.path, time.monotonic() - started)
    return records
