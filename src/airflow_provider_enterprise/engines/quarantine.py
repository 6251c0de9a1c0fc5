"""
Write a job's quarantine: every bad CSV record with its file, line, reason and exact bytes.

An engine finds the bad records (the rules of :mod:`airflow_provider_enterprise.compiler.bad_rows`) and says where
each one is: a record its reader rejected by the reader's row number, a record that failed a check by its position
among the records the reader accepted. This module reads the files once more, record by record (a quoted field
may hold line breaks), up to the last bad record, and writes each bad record's bytes as they are in the file, so
that bytes that are not UTF-8, delimiters and quotes are kept. The format is documented in docs/job-spec.md
("Quarantine records"). The files must be local (the local engine reads local files).
"""

from __future__ import annotations

import base64
import itertools
import json
import mmap
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_enterprise.output.commit import BAD_ROWS_FILE

#: The reader gives back the pages of a file it has read past in steps of this many bytes: mapped pages count in the
#: process's resident memory (a whole 9.4 GB file at TPC-H scale 12), though they stay in the page cache.
RELEASE_EVERY = 64 << 20

#: :func:`locate` finds at most this many bad records by counting lines (it holds them until the count of the files'
#: lines confirms them); more are found by splitting the records.
MAX_BY_LINES = 100_000

#: A record longer than this many bytes is written whole to a file of its own beside the quarantine; its line
#: holds the text of the first bytes and ``truncated: true``.
MAX_INLINE_BYTES = 1 << 20


@dataclass(frozen=True)
class CsvFiles:
    """The files of a CSV input in the order the engine read them, and how they split into records."""

    files: tuple[str, ...]
    quote: str
    header: bool
    #: DuckDB reads an empty line as a record when the input has one column (else it skips it)
    blank_lines_are_records: bool
    delimiter: str = ","
    #: the records the reader accepted, in all files, when the engine counted them: lets :func:`locate` find bad
    #: records by counting lines when every record is one line (see :func:`_by_lines`)
    accepted: int | None = None


@dataclass(frozen=True)
class Rejected:
    """A record the reader rejected: its file (index in :attr:`CsvFiles.files`) and row (1-based, counting the
    header and empty lines, a record holding quoted line breaks as one)."""

    file: int
    row: int
    reason: str


@dataclass(frozen=True)
class FailedCheck:
    """A record the reader accepted that failed a check: its position among the accepted records of all files."""

    position: int
    reason: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Record:
    file: str
    line: int
    data: bytes


class _Rows:
    """
    The rows of one file, in order: :meth:`next` reads one, :meth:`skip` passes over many plain lines at once.

    Rows split as DuckDB's reader splits them: a quote opens a quoted field only at the start of a field (after at
    most one space), where a line break is part of the field and a doubled quote is one quote; a quote that never
    closes runs to the end of the file. Anything after the closing quote, up to the next delimiter, belongs to the
    field (a bad record), as does a quote inside an unquoted field (``a"b`` is a value).
    """

    def __init__(self, data: mmap.mmap | bytes, quote: str, delimiter: str = ",") -> None:
        q, d = re.escape(quote.encode()), re.escape(delimiter.encode())
        space = b"[ ]?" if b" " not in (quote.encode(), delimiter.encode()) else b""
        rest = rb"[^%s\n]*+" % d  # an unquoted field, or what follows a closing quote
        quoted = rb"%s%s(?:[^%s]++|%s%s)*+(?:%s%s)?" % (space, q, q, q, q, q, rest)
        unquoted = rb"(?!%s%s)%s" % (space, q, rest)
        self._row = re.compile(rb"(?>%s|%s)(?:%s(?>%s|%s))*+" % (quoted, unquoted, d, quoted, unquoted))
        # non-empty lines that are one row each (every quoted field closes on its line), in a block
        closed = rb"%s%s(?:[^%s\n]++|%s%s)*+%s%s" % (space, q, q, q, q, q, rest)
        field = rb"(?>%s|%s)" % (closed, unquoted)
        self._plain = re.compile(rb"(?:(?!\r?\n)%s(?:%s%s)*+\n)++" % (field, d, field))
        self._data = data
        self._released = 0  # the pages before this offset are given back
        self.position = 0
        self.row = 0  # rows read, counting the header and empty lines
        self.line = 1  # the line the next row starts on

    def next(self) -> tuple[int, bytes] | None:
        """The next row's line and bytes (without the line ending), or None at the end of the file."""
        data = self._data
        if self.position >= len(data):
            return None
        row = self._row.match(data, self.position)
        assert row is not None  # a quoted or an unquoted (maybe empty) field starts every row
        end = row.end()
        record = data[self.position : end]
        line = self.line
        self.row += 1
        self.line += 1 + record.count(b"\n")
        self.position = end + 1
        self._release()
        return line, record[:-1] if record.endswith(b"\r") else record

    def skip(self, most: int) -> int:
        """Pass over at most ``most`` rows that are non-empty lines with their quotes closed; return how many."""
        data, skipped = self._data, 0
        while most - skipped > 64:
            wanted = most - skipped
            # a block of about the rows wanted, by the mean row length so far, of at most RELEASE_EVERY bytes
            block = min(wanted * (self.position // self.row + 1 if self.row else 64), RELEASE_EVERY)
            limit = min(self.position + block, len(data))
            match = self._plain.match(data, self.position, limit)
            if match is None:
                break
            end = match.end()
            rows = data[self.position : end].count(b"\n")
            for _ in range(rows - wanted):  # shorter rows than the mean: end after the wanted row
                end = data.rfind(b"\n", self.position, end - 1) + 1
            rows = min(rows, wanted)
            self.position, self.row, self.line = end, self.row + rows, self.line + rows
            skipped += rows
            self._release()
            if match.end() < limit:  # stopped before a row that is not a plain line
                break
        return skipped

    def _release(self) -> None:
        """Give back the mapped pages already read past (see :data:`RELEASE_EVERY`)."""
        if not isinstance(self._data, mmap.mmap) or self.position - self._released < RELEASE_EVERY:
            return
        end = self.position - self.position % mmap.PAGESIZE
        self._data.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
        self._released = end


def _mapped(path: str) -> Iterator[mmap.mmap | bytes]:
    with open(path, "rb") as file:
        if file.seek(0, 2) == 0:
            yield b""
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def locate(
    source: CsvFiles, rejected: Iterable[Rejected], failed: Iterable[FailedCheck]
) -> Iterator[tuple[Rejected | FailedCheck, _Record]]:
    """
    Pair each bad record with its bytes and line, in file order.

    When the engine counted the accepted records (:attr:`CsvFiles.accepted`) and there are few bad ones, they are
    found by counting lines (:func:`_by_lines`); the records are split as the reader splits them only when a
    record of the files is not one line.

    :param rejected: sorted by file and row.
    :param failed: sorted by position.
    """
    rejected, failed = list(rejected), iter(failed)
    if source.accepted is not None:
        held = list(itertools.islice(failed, MAX_BY_LINES + 1))
        failed = itertools.chain(held, failed)
        if len(held) + len(rejected) <= MAX_BY_LINES:
            found = _by_lines(source, rejected, held)
            if found is not None:
                yield from found
                return
    yield from _split(source, rejected, failed)


def _split(
    source: CsvFiles, rejected: Iterable[Rejected], failed: Iterable[FailedCheck]
) -> Iterator[tuple[Rejected | FailedCheck, _Record]]:
    """:func:`locate` by splitting every record up to the last bad one as the reader does (about 9 s per GB)."""
    rejected, failed = iter(rejected), iter(failed)
    next_rejected, next_failed = next(rejected, None), next(failed, None)
    position = 0  # among the accepted records of all files
    for index, path in enumerate(source.files):
        for data in _mapped(path):
            rows = _Rows(data, source.quote, source.delimiter)
            if source.header:
                rows.next()
            while next_rejected is not None or next_failed is not None:
                # every row before the next bad one is an accepted record: skip plain lines in blocks
                most = next_failed.position - position if next_failed is not None else len(data)
                if next_rejected is not None and next_rejected.file == index:
                    most = min(most, next_rejected.row - rows.row - 1)
                position += rows.skip(most)
                row = rows.next()
                if row is None:
                    break
                line, record = row
                if next_rejected is not None and (next_rejected.file, next_rejected.row) == (index, rows.row):
                    yield next_rejected, _Record(path, line, record)
                    next_rejected = next(rejected, None)
                    continue
                if not record and not source.blank_lines_are_records:
                    continue
                if next_failed is not None and next_failed.position == position:
                    yield next_failed, _Record(path, line, record)
                    next_failed = next(failed, None)
                position += 1
    missing = next_rejected or next_failed
    if missing is not None:
        raise RuntimeError(f"bad record {missing} was not found in {source.files}: the files changed while read")


def _by_lines(
    source: CsvFiles, rejected: list[Rejected], failed: list[FailedCheck]
) -> list[tuple[Rejected | FailedCheck, _Record]] | None:
    """
    :func:`locate` by counting lines, at the speed of ``bytes.count``: the accepted record at a position is the
    line after the header, the rejected rows before it and the accepted records before it.

    That holds when every record is exactly one line (no quoted line break, no skipped empty line, no lone
    carriage return). Each record takes at least one line of its own when no lone carriage return ends one, so
    the files hold exactly as many lines as their headers, rejected and accepted records only then: the files'
    lines are counted to their ends and compared. None when they differ (the records are then split).
    """
    assert source.accepted is not None
    found: list[tuple[Rejected | FailedCheck, _Record]] = []
    failed_at = iter(failed)
    next_failed = next(failed_at, None)
    base = lines_in_all = 0  # the accepted records and the lines of the files before this one
    records = len(rejected) + source.accepted
    for index, path in enumerate(source.files):
        rows = [r for r in rejected if r.file == index]  # sorted by row
        with open(path, "rb") as file:
            lines = _Lines(file)
            header = int(source.header and lines.size > 0)
            passed = done = 0  # rejected rows before the next accepted record's line; rejected rows found
            while True:
                line = None  # the next failed record's line, if it is in this file
                if next_failed is not None:
                    while passed < len(rows) and rows[passed].row <= header + 1 + next_failed.position - base + passed:
                        passed += 1
                    line = header + 1 + next_failed.position - base + passed
                bad: Rejected | FailedCheck
                if done < len(rows) and (line is None or rows[done].row < line):
                    bad, line = rows[done], rows[done].row
                elif next_failed is not None and line is not None:
                    bad = next_failed
                else:
                    break
                record = lines.line(line)
                if record is None:  # past this file's end: the failed record is in a later file
                    if bad is not next_failed:
                        return None
                    break
                found.append((bad, _Record(path, line, record)))
                if bad is next_failed:
                    next_failed = next(failed_at, None)
                else:
                    done += 1
            count = lines.count()
        if count < header + len(rows) or done < len(rows):
            return None
        base += count - header - len(rows)
        lines_in_all += count
        records += header
    if next_failed is not None or lines_in_all != records:
        return None
    return found


#: :class:`_Lines` reads files in blocks of this many bytes.
_BLOCK = 16 << 20


class _Lines:
    """The lines of a file read in blocks (not mapped): the bytes of a line by its number, and their count."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.size: int = file.seek(0, 2)
        self._start = 0  # the block's offset in the file
        self._block = b""
        self._at = 0  # an offset in the block at the start of a line,
        self._line = 1  # that line's number,
        self._breaks = 0  # and the line breaks from there to the block's end
        self._lone_carriage_return = False

    def _read(self) -> bool:
        """Move to the next block (ending after a line break, or at the file's end); False at the file's end (where
        nothing moves)."""
        start = self._start + len(self._block)
        if start >= self.size:
            return False
        self._file.seek(start)
        block = self._file.read(_BLOCK)
        while start + len(block) < self.size and b"\n" not in block:  # a line longer than a block
            block += self._file.read(_BLOCK)
        if start + len(block) < self.size:
            block = block[: block.rfind(b"\n") + 1]
        if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
            self._lone_carriage_return = True
        self._line += self._breaks  # the line at the block's start
        self._start, self._block, self._at, self._breaks = start, block, 0, block.count(b"\n")
        return True

    def line(self, number: int) -> bytes | None:
        """The bytes of line ``number`` (without its line ending), at or after the last line asked; None past the
        file's end."""
        while number - self._line >= self._breaks + (not self._block.endswith(b"\n") and self._at < len(self._block)):
            if not self._read():
                return None
        block, at, wanted = self._block, self._at, number - self._line
        if wanted:  # skip ``wanted`` line breaks, guessing where by the mean line length
            guess = min(at + wanted * (len(block) - at) // max(self._breaks, 1), len(block))
            counted = block.count(b"\n", at, guess)
            for _ in range(wanted - counted):
                guess = block.index(b"\n", guess) + 1
            if counted >= wanted:
                for _ in range(counted - wanted + 1):
                    guess = block.rindex(b"\n", at, guess)
                guess += 1
            at = guess
        end = block.find(b"\n", at)
        record = block[at : end if end >= 0 else len(block)]
        self._at, self._line, self._breaks = at, number, self._breaks - wanted
        return record[:-1] if record.endswith(b"\r") else record

    def count(self) -> int:
        """The file's lines (a last one without a line break counts), reading on from the last line asked; -1 when
        a carriage return ends a line alone (lines are then not records)."""
        lines = self._line - 1 + self._breaks
        while self._read():
            lines += self._breaks
        if self.size and not self._block.endswith(b"\n"):
            lines += 1
        return -1 if self._lone_carriage_return else lines


def write(
    inputs: Iterable[tuple[str, CsvFiles, Iterable[Rejected], Iterable[FailedCheck]]],
    directory: Path,
    origins: Mapping[str, str] | None = None,
) -> int:
    """
    Write the bad records of ``inputs`` (name, files, rejected and failed records) as JSON lines to
    :data:`BAD_ROWS_FILE` in ``directory``, records longer than :data:`MAX_INLINE_BYTES` to files beside it;
    return how many were written.

    :param origins: where local files were copied from (an object's URI), to name in the records instead.
    """
    origins = origins or {}
    target = directory / BAD_ROWS_FILE
    target.parent.mkdir()
    written = 0
    with open(target, "w", encoding="utf-8") as out:
        for name, source, rejected, failed in inputs:
            for bad, record in locate(source, rejected, failed):
                entry: dict[str, Any] = {
                    "input": name,
                    "file": origins.get(record.file, record.file),
                    "line": record.line,
                    "reason": bad.reason,
                }
                data = record.data
                if len(data) > MAX_INLINE_BYTES:
                    whole = target.with_name(f"record-{written}.bin")
                    whole.write_bytes(data)
                    entry |= {"truncated": True, "record_file": str(whole.relative_to(directory)), "bytes": len(data)}
                    data = data[:MAX_INLINE_BYTES]
                else:
                    entry |= {"truncated": False, "record_file": None, "bytes": len(data)}
                entry["record"] = data.decode("utf-8", errors="replace")
                entry["record_base64"] = base64.b64encode(data).decode("ascii")
                entry["values"] = bad.values if isinstance(bad, FailedCheck) else None
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                written += 1
    return written
