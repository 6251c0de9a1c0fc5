"""Atomic commit of a job's output directory, and the manifest an engine leaves in it.

No Airflow imports: the Spark application commits with these functions on Spark drivers.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_enterprise.exceptions import OutputExistsError
from airflow_provider_enterprise.spec import JobSpec, WriteMode

SUCCESS_MARKER = "_SUCCESS"
#: Where quarantined rows go, inside the committed output (readers skip names starting with ``_``).
BAD_ROWS_FILE = "_bad_rows/part-0.jsonl"
#: Written last into a committed output by engines that run outside the task (the Spark application): files,
#: row counts, bad rows and timings. On object stores, where rename is not atomic, it is the commit marker.
MANIFEST = "_manifest.json"


@contextmanager
def staged_output(output_path: str | Path) -> Iterator[Path]:
    """
    Yield a staging directory beside ``output_path``; on success, publish it there atomically.

    The staging directory is a hidden sibling, so the final rename stays on one filesystem. The
    ``_SUCCESS`` marker is written into the staging directory before the rename, so a reader either sees
    no output, the previous complete output, or the new complete output. On error the staging
    directory is removed and any previous output is left untouched.
    """
    final = Path(output_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = final.parent / f".{final.name}.staging-{token}"
    staging.mkdir()
    try:
        yield staging
        (staging / SUCCESS_MARKER).touch()
        if final.exists():
            retired = final.parent / f".{final.name}.retired-{token}"
            final.rename(retired)
            staging.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


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
    return json.loads(path.read_text())


def check_writable(spec: JobSpec) -> None:
    """Raise :class:`OutputExistsError` if the job's output exists and its ``mode`` is ``error_if_exists``."""
    if spec.mode is WriteMode.ERROR_IF_EXISTS and Path(spec.output_path).exists():
        raise OutputExistsError(f"output_path {spec.output_path!r} exists and mode is error_if_exists")
