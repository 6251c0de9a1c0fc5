"""
Register a job's inputs in DuckDB: one view per input, with its columns, record count and bad rows.

CSV inputs are read with every column as a string by DuckDB's strict reader (which rejects records with the
wrong number of fields, broken quoting or invalid UTF-8 into a rejects table), then checked and converted
with the engine-neutral rules of :mod:`airflow_provider_enterprise.compiler.bad_rows`. Three ways, one verdict:

- checked: a scan of its own counts the records and keeps the bad ones with their positions (the rules judge only
  the records that fail :mod:`.one_scan_check`'s tests); the job's scan then reads the good ones;
- one scan: the job's own scan checks every record with the same rules and fails on the first bad one (the
  engine then runs the job again checked, before anything is committed); its record count comes from DuckDB's
  profile of that scan (:func:`scanned_records`);
- proven: Polars proves every record good first (:mod:`.csv_proof`) and the job's scan converts without checking.

Parquet and JSON-lines inputs are typed by their format and have no bad rows.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from airflow_provider_enterprise.compiler import bad_rows
from airflow_provider_enterprise.compiler.plan import Column, declarable_type, normalize_type
from airflow_provider_enterprise.engines import csv_proof, one_scan_check, quarantine
from airflow_provider_enterprise.engines.quarantine import FailedCheck
from airflow_provider_enterprise.spec import FileFormat, InputSpec, JobSpec

DIALECT = "duckdb"

log = logging.getLogger(__name__)


def relation_name(name: str) -> str:
    """The view under which input ``name``'s good rows are registered."""
    return f"__input_{name}"


@dataclass(frozen=True)
class RegisteredInput:
    """An input registered on a connection."""

    name: str
    columns: tuple[Column, ...]
    records: int
    bad_rows: int = 0
    #: where the bad rows are, for the quarantine (see :meth:`BadRows.located`)
    bad: BadRows | None = None
    first_bad_reason: str | None = None
    #: For an input Polars proved free of bad rows, or read in one scan: the rejects table of DuckDB's reader,
    #: which must stay empty while the job's own scan reads it (see :func:`proof_refuted`).
    proof_rejects: str | None = None
    #: For an input read in one scan: its files, whose records the job's scan counts (``records`` is 0 until
    #: :func:`scanned_records` reads the count).
    scanned: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BadRows:
    """The bad rows of a CSV input: queries saying where they are in its files."""

    files: quarantine.CsvFiles
    #: the records that failed a check: position among the accepted records, reason, the fields as read
    failed: str
    #: the records the reader rejected: file index, row, reason (None: it rejected none)
    rejected: str | None

    def located(self, con: duckdb.DuckDBPyConnection) -> tuple[list[quarantine.Rejected], Iterator[FailedCheck]]:
        """The rejected records and (streamed: run no other query until it is consumed) the failed ones."""
        rejected = [quarantine.Rejected(*row) for row in con.execute(self.rejected).fetchall()] if self.rejected else []
        return rejected, _stream(con, self.failed)


def _stream(con: duckdb.DuckDBPyConnection, query: str) -> Iterator[FailedCheck]:
    result = con.execute(query)
    while batch := result.fetchmany(10_000):
        yield from (quarantine.FailedCheck(position, reason, json.loads(values)) for position, reason, values in batch)


def _sql(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT, identify=True)


def _typed_relation(con: duckdb.DuckDBPyConnection, source: InputSpec, files: list[str]) -> duckdb.DuckDBPyRelation:
    if source.resolved_format() is FileFormat.PARQUET:
        return con.read_parquet(files, hive_partitioning=True, union_by_name=True)
    return con.read_json(files, format="newline_delimited")


def input_columns(con: duckdb.DuckDBPyConnection, name: str, source: InputSpec, files: list[str]) -> tuple[Column, ...]:
    """
    The columns of input ``name``, without reading its data: the declared schema, Parquet metadata, or a sample
    (a CSV input's header and the CSV sniffer, JSON inference).

    :raises InputHeaderError: a CSV input without a schema whose header cannot name its columns.
    """
    if source.resolved_format() is FileFormat.CSV:
        return _declared_columns(con, name, source, files)
    relation = _typed_relation(con, source, files)
    return tuple(Column(c, normalize_type(str(t))) for c, t in zip(relation.columns, relation.types, strict=True))


def register(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: InputSpec,
    files: list[str],
    columns: tuple[Column, ...],
    stopped: Callable[[], bool] = lambda: False,
    prove: bool = True,
    one_scan: bool = False,
) -> RegisteredInput:
    """
    Register input ``name`` read from ``files`` with ``columns`` (see :func:`input_columns`); count its records
    and bad rows (this reads the data, except in one scan).

    :param stopped: polled while an input is read outside DuckDB (see :mod:`.csv_proof`); true stops the read.
    :param prove: let Polars prove a CSV input free of bad rows first, sparing DuckDB's check scan.
    :param one_scan: without ``prove``, let the job's own scan check and count a CSV input: a bad row fails the
        query (see :mod:`.one_scan_check`).
    """
    view = relation_name(name)
    if source.resolved_format() is not FileFormat.CSV:
        _typed_relation(con, source, files).create_view(view)
        ((records,),) = con.execute(f'SELECT count(*) FROM "{view}"').fetchall()
        return RegisteredInput(name, columns, int(records))
    return _register_csv(con, name, source, files, columns, stopped, prove, one_scan)


def with_sniffed_schemas(spec: JobSpec) -> JobSpec:
    """
    Return ``spec`` with the types DuckDB's CSV sniffer infers (a sample, as the local engine reads them) declared
    for every CSV input without a ``schema``, so another engine reads the same types, without a full inference
    scan of its own. An input this process cannot read (storage only the cluster reaches) is left as it is.
    """
    inputs = dict(spec.inputs)
    con = None
    for name, source in spec.inputs.items():
        try:
            if source.column_types or source.resolved_format() is not FileFormat.CSV:
                continue
            files = source.files()
            if not files:
                continue
            con = con or duckdb.connect()
            columns = _declared_columns(con, name, source, files)
        except (ValueError, OSError, duckdb.Error):  # the engine reports it with the input's name
            continue
        if all(c.type for c in columns):
            inputs[name] = source.model_copy(update={"column_types": {c.name: c.type for c in columns}})
    if con is not None:
        con.close()
    return spec.model_copy(update={"inputs": inputs}) if inputs != spec.inputs else spec


def _declared_columns(
    con: duckdb.DuckDBPyConnection, name: str, source: InputSpec, files: list[str]
) -> tuple[Column, ...]:
    if source.column_types:
        return tuple(Column(c, t) for c, t in source.column_types.items())
    # the sniffer only proposes names and types; records that do not fit are judged by the strict read
    options: dict[str, Any] = {
        "sep": source.delimiter,
        "quotechar": source.quote,
        "escapechar": source.quote,
        "strict_mode": False,
        "ignore_errors": True,
    }
    # the first record as read, unquoted: the header's names, which the sniffer renames when repeated or empty
    first = con.read_csv(files[0], header=False, all_varchar=True, **options).limit(1).fetchall()
    sniffed = con.read_csv(files, header=source.header, **options)
    names = bad_rows.column_names(name, first[0] if first else None, source.header, sniffed.columns)
    return tuple(Column(c, declarable_type(str(t))) for c, t in zip(names, sniffed.types, strict=True))


def _register_csv(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: InputSpec,
    files: list[str],
    columns: tuple[Column, ...],
    stopped: Callable[[], bool],
    prove: bool,
    one_scan: bool = False,
    parallel: bool = True,
) -> RegisteredInput:
    raw, checked, rejects, failed = f"__raw_{name}", f"__checked_{name}", f"__rejects_{name}", f"__failed_{name}"
    proven = csv_proof.proven_records(source, files, columns, stopped) if prove else None
    con.read_csv(
        files,
        header=source.header,
        sep=source.delimiter,
        quotechar=source.quote,
        escapechar=source.quote,
        columns={c.name: "VARCHAR" for c in columns},
        auto_detect=False,
        strict_mode=True,
        store_rejects=True,
        rejects_table=rejects,
        rejects_scan=f"{rejects}_scan",
        parallel=parallel,
    ).create_view(raw)
    if proven is not None:  # every record is good: the job's scan converts without checking
        con.execute(f'CREATE OR REPLACE VIEW "{relation_name(name)}" AS {_sql(_converted(raw, columns))}')
        return RegisteredInput(name, columns, records=proven, proof_rejects=rejects)
    if one_scan and not prove:
        _guard_scans(con)
        guarded = one_scan_check.guarded(_nulled(raw, columns), columns)
        con.execute(f'CREATE OR REPLACE VIEW "{relation_name(name)}" AS {_sql(guarded)}')
        return RegisteredInput(name, columns, records=0, proof_rejects=rejects, scanned=tuple(files))
    # The strict reader rejects a record with more or fewer fields than the columns (empty fields after the last
    # column are dropped, not counted) into the rejects table, as it does broken quoting and invalid UTF-8; padding
    # short records with NULLs instead would cost the parallel reader its support for quoted line breaks.
    con.execute(f'CREATE OR REPLACE VIEW "{checked}" AS {_sql(one_scan_check.checked(_nulled(raw, columns), columns))}')
    # One scan judges the records and keeps the bad ones: their position among the accepted records (in the files'
    # order), reason and fields as read, as one JSON text (a struct of every field of every record took 9.5 GB at
    # 72M records); its profile counts the records it read. The verdicts are copied to a Parquet file in the scan's
    # order, where the reader numbers them (``file_row_number``): a copy keeps the order in parallel, while
    # ``row_number() OVER ()`` ran the whole scan on one thread (7.1 of the 13 s of TPC-H scale 1 with bad rows).
    con.execute("SET enable_profiling = 'no_output'")
    con.execute("SET preserve_insertion_order = true")  # the copy's rows in the scan's order
    accepted = _keep_failed(con, checked, failed, columns)
    ((typed_bad, first_typed),) = con.execute(f'SELECT count(*), min(reason) FROM "{failed}"').fetchall()
    scan_id, reader_bad, first_reader = _reader_rejects(con, rejects)
    if parallel and reader_bad and scan_id is not None and _over_line_limit(con, rejects, scan_id):
        # DuckDB's parallel reader (2.0.1) drops records that follow a line over its size limit: neither read nor
        # rejected. Its serial reader keeps them, so such an input is read again serially.
        log.warning("Input %r has a line over DuckDB's line size limit: reading it again serially", name)
        return _register_csv(con, name, source, files, columns, stopped, prove=False, parallel=False)
    if typed_bad or reader_bad:
        # The job's scan reads the checked view, which reads every column: the reader checks the encoding of the
        # columns a query reads only, so a scan of fewer columns would accept a record rejected for its bytes.
        good = (
            exp.select(*one_scan_check.good_values(columns))
            .from_(exp.to_identifier(checked, quoted=True))
            .where(exp.Is(this=exp.column(bad_rows.REASON, quoted=True), expression=exp.Null()))
        )
    else:
        # Every record passed the checks: the job's scan converts without re-checking.
        good = _converted(raw, columns)
    con.execute(f'CREATE OR REPLACE VIEW "{relation_name(name)}" AS {_sql(good)}')
    bad = int(typed_bad) + reader_bad
    located = None
    if bad:
        rejected = None
        if scan_id is not None:  # the rejects of the judging scan (each later scan adds its own copy)
            rejected = (
                f"SELECT file_id, line, {_READER_REASON} FROM (SELECT DISTINCT ON (file_id, line) * "
                f'FROM "{rejects}" WHERE scan_id = {int(scan_id)} ORDER BY file_id, line) ORDER BY file_id, line'
            )
        layout = quarantine.CsvFiles(
            tuple(files), source.quote, source.header, len(columns) == 1, source.delimiter, accepted=accepted
        )
        located = BadRows(layout, f'SELECT position, reason, "values" FROM "{failed}" ORDER BY position', rejected)
    return RegisteredInput(
        name,
        columns,
        records=accepted + reader_bad,
        bad_rows=bad,
        bad=located,
        first_bad_reason=first_reader or first_typed,
    )


def _keep_failed(con: duckdb.DuckDBPyConnection, checked: str, failed: str, columns: tuple[Column, ...]) -> int:
    """Keep the bad records of view ``checked`` in table ``failed`` (position, reason, fields as JSON text) in one
    parallel scan; return the records it read."""
    values = _sql(exp.Struct(expressions=[exp.column(c.name, quoted=True) for c in columns]))
    reason = _sql(exp.column(bad_rows.REASON, quoted=True))
    packed = f'struct_pack(reason := {reason}, "values" := to_json({values})::VARCHAR)'
    bad = f"CASE WHEN {reason} IS NOT NULL THEN {packed} END"
    with tempfile.TemporaryDirectory(prefix="enterprise-verdicts-") as scratch:
        verdicts = {"path": str(Path(scratch) / "verdicts.parquet")}
        con.execute(f'COPY (SELECT {bad} AS bad FROM "{checked}") TO $path (FORMAT parquet)', verdicts)
        accepted = _records_read(con)
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{failed}" AS SELECT file_row_number AS position, bad.reason AS reason, '
            'bad."values" AS "values" FROM read_parquet($path, file_row_number = true) WHERE bad IS NOT NULL',
            verdicts,
        )
    return accepted


def _records_read(con: duckdb.DuckDBPyConnection) -> int:
    """The records the last query's CSV scan read (DuckDB's profile; the records its reader rejected aside)."""
    pending = list(json.loads(con.get_profiling_information(format="json"))["operator"])
    counts = []
    while pending:
        node = pending.pop()
        pending.extend(node.get("children", []))
        if node["name"] == "READ_CSV":
            counts.append(int(node["rows_scanned"]))
    (count,) = counts  # the judging query reads its input once, whole
    return count


def _nulled(raw: str, columns: tuple[Column, ...]) -> exp.Select:
    """The raw string view ``raw`` with empty fields as NULL."""
    return exp.select(*bad_rows.empty_as_null(columns)).from_(exp.to_identifier(raw, quoted=True))


def _converted(raw: str, columns: tuple[Column, ...]) -> exp.Select:
    """The raw string view ``raw`` with empty fields as NULL and every column converted to its type."""
    return exp.select(*bad_rows.typed_projection(columns)).from_(
        exp.Subquery(this=_nulled(raw, columns), alias=exp.TableAlias(this=exp.to_identifier("n")))
    )


#: Optimizers that would let rows of an input read in one scan skip its check (filters moved below it, into the
#: reader, or built from a join's other side) or read typed values with DuckDB's own, more lenient, parser.
_UNGUARDED_OPTIMIZERS = ("filter_pushdown", "join_filter_pushdown", "type_pushdown", "scalar_fn_pushdown")


def _guard_scans(con: duckdb.DuckDBPyConnection) -> None:
    """Make every row a scan reads pass its input's check, and keep each query's profile (its scans' counts)."""
    con.execute(f"SET disabled_optimizers = '{','.join(_UNGUARDED_OPTIMIZERS)}'")
    con.execute("SET enable_profiling = 'no_output'")


def scanned_records(con: duckdb.DuckDBPyConnection, inputs: Mapping[str, RegisteredInput]) -> dict[str, int]:
    """
    The records of each input read in one scan, counted by the last query's scans of its files (DuckDB's
    profile). An input the query may not have read whole (a scan under a limit, or under a join whose other side
    was empty, which stops reading) is left out, as is one the query did not read.
    """
    if all(registered.scanned is None for registered in inputs.values()):
        return {}
    whole: list[dict[str, Any]] = []  # the CSV scans read to their end
    pending = [(node, True) for node in json.loads(con.get_profiling_information(format="json"))["operator"]]
    while pending:
        node, read_whole = pending.pop()
        children = node.get("children", [])
        if "LIMIT" in node["name"] or (
            ("JOIN" in node["name"] or node["name"] == "CROSS_PRODUCT") and not all(_rows(c) for c in children)
        ):
            read_whole = False
        pending.extend((child, read_whole) for child in children)
        if node["name"] == "READ_CSV" and read_whole:
            whole.append(node)
    counted = {}
    for name, registered in inputs.items():
        if registered.scanned is None:
            continue
        listed = ", ".join(registered.scanned)
        counts = {
            int(scan["rows_scanned"])
            for scan in whole
            if int(scan["extra_info"].get("Total Files Read", -1)) == len(registered.scanned)
            and _listed_alike(scan["extra_info"].get("Filename(s)", ""), listed)
        }
        if len(counts) == 1:
            counted[name] = counts.pop()
    return counted


def _rows(node: dict[str, Any]) -> int:
    return int(node.get("operator_cardinality", node.get("intermediate_rows", 0)))


def _listed_alike(profiled: str, listed: str) -> bool:
    """Whether a profile's list of files (cut short with ``...`` past a few) is ``listed``."""
    return profiled == listed or (profiled.endswith(", ...") and listed.startswith(profiled.removesuffix("...")))


def proof_refuted(con: duckdb.DuckDBPyConnection, registered: RegisteredInput) -> str | None:
    """
    Why Polars' proof that ``registered`` has no bad rows does not hold, or None when it holds so far.

    Polars and DuckDB split some malformed files differently (line endings that change within a file). The
    proof is checked after each scan of the job: DuckDB's reader has rejected no record of the input. A value
    Polars accepted that DuckDB cannot convert fails the job's conversion loudly instead.
    """
    if registered.proof_rejects is None:
        return None
    _, rejected, sample = _reader_rejects(con, registered.proof_rejects)
    return f"DuckDB's reader rejected {rejected} records ({sample})" if rejected else None


#: The reader's error types as engine-neutral reasons.
_READER_REASON = (
    f"CASE error_type WHEN 'INVALID ENCODING' THEN '{bad_rows.INVALID_ENCODING}' "
    f"ELSE '{bad_rows.MALFORMED}: ' || lower(error_type) END"
)


def _over_line_limit(con: duckdb.DuckDBPyConnection, rejects: str, scan_id: int) -> bool:
    """Whether the reader rejected a line of scan ``scan_id`` for being longer than its limit (``max_line_size``)."""
    query = f"SELECT count(*) FROM \"{rejects}\" WHERE scan_id = ? AND error_type = 'LINE SIZE OVER MAXIMUM'"
    ((count,),) = con.execute(query, [scan_id]).fetchall()
    return bool(count)


def _reader_rejects(con: duckdb.DuckDBPyConnection, rejects: str) -> tuple[int | None, int, str | None]:
    """The last scan's rejected records: its scan id, their count and a sample reason (a record may have
    several rejects, one per missing column)."""
    try:
        ((scan_id,),) = con.execute(f'SELECT max(scan_id) FROM "{rejects}_scan"').fetchall()
    except duckdb.CatalogException:
        return None, 0, None
    if scan_id is None:
        return None, 0, None
    ((count, sample),) = con.execute(
        f"SELECT count(DISTINCT (file_id, line)), arg_min(line::VARCHAR || ': ' || {_READER_REASON}, (file_id, line)) "
        f'FROM "{rejects}" WHERE scan_id = ?',
        [scan_id],
    ).fetchall()
    return int(scan_id), int(count), f"line {sample}" if sample else None
