"""Atomic commit of a job's output directory."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUCCESS_MARKER = "_SUCCESS"


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
