"""Atomic commit of a job's output directory, and the manifest an engine leaves in it.

A try writes into a staging directory of its own beside the output, then publishes it in one step: an atomic
exchange with the previous output (``renameat2(RENAME_EXCHANGE)``), so readers see the old complete output or
the new one, never none. Commits to one parent directory take turns under a lock; a run whose output was
committed by another run while it ran fails with :class:`OutputConflictError` and commits nothing. An output
path holding anything a commit did not write is never replaced (DESIGN.md section 7).

No Airflow imports: the Spark application commits with these functions on Spark drivers.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.exceptions import OutputConflictError, OutputExistsError, OutputNotOwnedError
from airflow_provider_enterprise.output.object_store import (
    check_object_output_replaceable,
    read_object_manifest,
    staged_object_output,
)
from airflow_provider_enterprise.spec import JobSpec, WriteMode
from airflow_provider_enterprise.spec.locations import scheme_of

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

#: Written last into a committed output: JSON naming the files the commit published (and its token).
SUCCESS_MARKER = "_SUCCESS"
#: Where quarantined rows go, inside the committed output (readers skip names starting with ``_``).
BAD_ROWS_FILE = "_bad_rows/part-0.jsonl"
#: Written last into a committed output by engines that run outside the task (the Spark application): files,
#: row counts, bad rows and timings. On object stores, where rename is not atomic, it is the commit marker.
MANIFEST = "_manifest.json"

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


@cache
def _renameat2() -> Any:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux, or a libc older than glibc 2.28
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


def _rename2(source: Path, target: Path, flags: int) -> bool:
    """Rename with ``renameat2`` flags; return False where the platform or filesystem cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _publish(staging: Path, final: Path, token: str) -> Path | None:
    """Move ``staging`` to ``final``; return where the replaced output now is (to remove), if there was one."""
    if not os.path.lexists(final):
        if not _rename2(staging, final, _RENAME_NOREPLACE):
            staging.rename(final)
        return None
    if _rename2(staging, final, _RENAME_EXCHANGE):
        return staging
    log.warning("This filesystem cannot exchange %s atomically: readers may see no output for a moment", final)
    retired = final.parent / f".{final.name}.retired-{token}"
    final.rename(retired)
    staging.rename(final)
    return retired


@contextmanager
def _commit_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (commits into it take turns; each holds it for two renames)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _files(directory: Path) -> list[str]:
    """Every file below ``directory``, hidden ones included, relative to it."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() or p.is_symlink())


def _generation(final: Path) -> tuple[int, bytes] | None:
    """Identify the output at ``final`` as it is now (None: there is none); a commit changes it."""
    try:
        inode = os.lstat(final).st_ino
    except FileNotFoundError:
        return None
    try:
        return inode, (final / SUCCESS_MARKER).read_bytes()
    except OSError:
        return inode, b""


def check_replaceable(output_path: str | Path) -> None:
    """
    Raise :class:`OutputNotOwnedError` unless replacing ``output_path`` can only remove what a commit wrote: it
    does not exist, is an empty directory, or is a committed output holding only the files its commit listed.
    """
    final = Path(output_path)
    if final.is_symlink():
        raise OutputNotOwnedError(
            f"output_path {str(final)!r} is a symbolic link: name the directory itself (it is never replaced)"
        )
    if not final.exists():
        return
    if not final.is_dir():
        raise OutputNotOwnedError(f"output_path {str(final)!r} is a file no job wrote: it is never replaced")
    present = _files(final)
    marker = final / SUCCESS_MARKER
    if marker.is_file():
        try:
            listed = set(json.loads(marker.read_text())["files"])
        except (ValueError, KeyError, TypeError):  # an empty marker, as Spark or an older commit wrote it
            return
        strangers = [f for f in present if f not in listed and f != SUCCESS_MARKER]
    else:
        strangers = present
    if strangers:
        raise OutputNotOwnedError.of(str(final), strangers)


def _staging_prefix(final: Path) -> str:
    return f".{final.name}.staging-"


def remove_abandoned_staging(output_path: str | Path, abandoned: Callable[[str], bool]) -> list[Path]:
    """
    Remove the staging directories beside ``output_path`` of runs that ``abandoned`` names, and return them.

    A try killed while it wrote (SIGKILL, a lost worker) leaves its staging directory behind; its retry calls this
    with the earlier tries of its job (:func:`~airflow_provider_enterprise.engines.reuse.earlier_tries`), so only
    what those tries wrote is touched. Runs under the commit lock: a try still publishing finishes first, and one
    still writing then fails rather than publishing beside its retry.

    :param abandoned: given the run name a staging directory carries (``staged_output``'s ``run_id``), whether
        that run will never publish.
    """
    final = Path(output_path)
    if not final.parent.is_dir():
        return []
    prefix = _staging_prefix(final)
    removed = []
    with _commit_lock(final.parent):
        for entry in final.parent.iterdir():
            if entry.name.startswith(prefix) and entry.is_dir() and abandoned(entry.name[len(prefix) :]):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    for entry in removed:
        log.warning("Removed %s, left by an earlier try that was stopped before it committed", entry)
    return removed


@contextmanager
def staged_output(
    output_path: str | Path, run_id: str | None = None, abandoned: Callable[[str], bool] | None = None
) -> Iterator[Path]:
    """
    Yield a staging directory beside ``output_path``; on success, publish it there atomically.

    The staging directory is a hidden sibling, so the publishing rename stays on one filesystem. The
    ``_SUCCESS`` marker, naming the files written, goes into the staging directory before it is published,
    so a reader sees the previous complete output or the new complete output. On error, or when another run
    committed ``output_path`` meanwhile (:class:`OutputConflictError`), the staging directory is removed and
    the output is left as it is.

    :param run_id: the run's name, carried by its staging directory's name (so a later try can tell its own).
    :param abandoned: the runs whose staging directories are removed first (:func:`remove_abandoned_staging`).
    """
    final = Path(output_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable(final)
    if abandoned is not None:
        remove_abandoned_staging(final, abandoned)
    base = _generation(final)
    token = uuid.uuid4().hex[:12]
    staging = final.parent / f"{_staging_prefix(final)}{f'{run_id}-' if run_id else ''}{token}"
    staging.mkdir()
    replaced = None
    try:
        yield staging
        (staging / f".{SUCCESS_MARKER}.crc").unlink(missing_ok=True)  # Hadoop's checksum of its empty marker
        marker = {"files": [f for f in _files(staging) if f != SUCCESS_MARKER], "token": token}
        (staging / SUCCESS_MARKER).write_text(json.dumps(marker))
        with _commit_lock(final.parent):
            if _generation(final) != base:
                raise OutputConflictError.of(str(final))
            check_replaceable(final)
            replaced = _publish(staging, final, token)
    finally:
        for leftover in (staging, replaced):
            if leftover is not None and os.path.lexists(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def is_committed(output_path: str | Path) -> bool:
    """Return True if ``output_path`` holds a complete, committed output."""
    return (Path(output_path) / SUCCESS_MARKER).is_file()


def write_manifest(directory: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` into ``directory`` (a staging directory, before it is published)."""
    path = Path(directory) / MANIFEST
    partial = path.with_name(f".{MANIFEST}.partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    partial.rename(path)


def read_manifest(output_path: str | Path) -> dict[str, Any] | None:
    """Return the manifest of the committed output at ``output_path``, or None if there is none."""
    path = Path(output_path) / MANIFEST
    if not (is_committed(output_path) and path.is_file()):
        return None
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def read_output_manifest(
    output_path: str, filesystems: Mapping[str, AbstractFileSystem] | None = None
) -> dict[str, Any] | None:
    """Return the manifest of the committed output at ``output_path``, in an object store through its filesystem
    (of ``filesystems``, by store), or None if there is none."""
    if store := scheme_of(output_path):
        return read_object_manifest((filesystems or {})[store], output_path)
    return read_manifest(output_path)


def check_writable(spec: JobSpec, filesystems: Mapping[str, AbstractFileSystem] | None = None) -> None:
    """
    Raise before the job runs if its output may not be written: :class:`OutputExistsError` when it exists and
    ``mode`` is ``error_if_exists``, :class:`OutputNotOwnedError` when it holds what no commit wrote.

    :param filesystems: the filesystems of the object stores the job's paths name, by store (``""``: the one a
        ``file://`` output is committed through like an object store's, Hadoop's on a Spark driver).
    """
    output, filesystems = spec.output_path, filesystems or {}
    store = scheme_of(output)
    replaceable: Callable[[str], object]
    if store or store in filesystems:
        fs = filesystems[store]
        exists = bool(fs.find(fs._strip_protocol(output).rstrip("/")))
        replaceable = partial(check_object_output_replaceable, fs)
    else:
        exists, replaceable = os.path.lexists(output), check_replaceable
    if spec.mode is WriteMode.ERROR_IF_EXISTS and exists:
        raise OutputExistsError(f"output_path {output!r} exists and mode is error_if_exists")
    replaceable(output)


#: The version of the manifest a job's commit writes (:func:`job_manifest`).
JOB_MANIFEST_VERSION = 1


def job_manifest(
    spec: JobSpec,
    *,
    engine: str,
    run_id: str,
    files: list[str],
    rows_out: int,
    inputs: Mapping[str, Mapping[str, Any]],
    quarantined: bool,
    input_columns: Mapping[str, Any],
    checks: list[dict[str, Any]],
    timings: Mapping[str, float],
    **extra: Any,
) -> dict[str, Any]:
    """
    The manifest of a job's committed output, either engine's: who committed it (``run_id``), its files and figures
    (rows, bad rows, each input's ``records`` and ``bad_rows``, checks), read back by a retry that reuses the commit.
    """
    return {
        "version": JOB_MANIFEST_VERSION,
        "engine": engine,
        "run_id": run_id,
        "job_name": spec.job_name,
        "output_path": spec.output_path,
        "output_format": spec.output_format.value,
        "files": files,
        "rows_in": sum(counts["records"] for counts in inputs.values()),
        "rows_out": rows_out,
        "bad_rows": sum(counts["bad_rows"] for counts in inputs.values()),
        "bad_rows_path": bad_rows_location(spec.output_path) if quarantined else None,
        "input_columns": dict(input_columns),
        "inputs": {name: dict(counts) for name, counts in inputs.items()},
        "timings": dict(timings),
        "checks": checks,
        **extra,
    }


def bad_rows_location(output_path: str) -> str:
    """Where the quarantined rows of the output at ``output_path`` are: the file in a local output, the prefix
    below an output URI, committed as an object store's (each try's files are named by the manifest)."""
    if "://" in output_path:
        return f"{output_path.rstrip('/')}/{BAD_ROWS_FILE.split('/')[0]}/"
    return str(Path(output_path) / BAD_ROWS_FILE)


def staged(
    output_path: str,
    filesystems: Mapping[str, AbstractFileSystem] | None = None,
    run_id: str | None = None,
    abandoned: Callable[[str], bool] | None = None,
) -> ContextManager[Path]:
    """
    The commit of ``output_path``: :func:`staged_output` for a local path (``run_id`` and ``abandoned`` as
    there), the manifest commit of :mod:`.object_store` for an object store's (whose filesystem ``filesystems``
    holds).
    """
    if store := scheme_of(output_path):
        return staged_object_output((filesystems or {})[store], output_path)
    return staged_output(output_path, run_id, abandoned)
