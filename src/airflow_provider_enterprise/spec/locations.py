"""
Where a job's data lives, compared after resolution (DESIGN.md section 7).

Two spellings of one place must compare equal, or a job could replace its own input: a local path is made
absolute, normalised and its symbolic links resolved; a URI compares by scheme (``s3a`` is ``s3``), bucket
and normalised key. A glob compares by its fixed prefix and by whether its pattern can match a path below
the other location. No Airflow imports: the Spark application validates specs with this module too.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

#: URI schemes a path may have, each with the store it names (``""``: the local filesystem).
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "abfs": "abfs", "abfss": "abfs", "az": "abfs", "file": ""}


def scheme_of(path: str) -> str:
    """The store ``path`` names: ``s3``, ``gs``, ``abfs``, or ``""`` for a local path (``file://`` included)."""
    if "://" not in path:
        return ""
    scheme = path.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        supported = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"{path!r}: the scheme {scheme}:// is not supported (supported: {supported} and local paths)")
    return SCHEMES[scheme]


def check_location(path: str) -> str:
    """Validate ``path`` as a local path or a URI of a supported store; return it."""
    scheme_of(path)
    return path


@dataclass(frozen=True)
class Location:
    """
    A resolved place: ``store`` is ``""`` for the local filesystem, else ``scheme://bucket``; ``parts`` are
    the path's segments from the root of the store.
    """

    store: str
    parts: tuple[str, ...]

    @classmethod
    def of(cls, path: str) -> Location:
        """Resolve ``path`` (a local path or a URI) without globbing it."""
        if "://" in path:
            uri = urlsplit(path)
            scheme = scheme_of(path)
            if scheme:
                key = posixpath.normpath("/" + uri.path).lstrip("/")
                return cls(f"{scheme}://{uri.netloc}", tuple(p for p in key.split("/") if p))
            path = uri.path  # file:///local/path
        resolved = os.path.realpath(os.path.abspath(os.path.expanduser(path)))
        return cls("", tuple(p for p in resolved.split(os.sep) if p))

    def contains(self, other: Location) -> bool:
        """Return True if ``other`` is this location or lies below it."""
        return self.store == other.store and other.parts[: len(self.parts)] == self.parts

    def __str__(self) -> str:
        return f"{self.store}/{'/'.join(self.parts)}"


def split_glob(pattern: str) -> tuple[str, tuple[str, ...]]:
    """Split a glob's ``/``-separated segments into its fixed prefix (joined) and the segments from the first
    wildcard on: ``raw/day=*/x.csv`` -> ``("raw", ("day=*", "x.csv"))``."""
    segments = pattern.split("/")
    fixed = 0
    while fixed < len(segments) and not glob.has_magic(segments[fixed]):
        fixed += 1
    return "/".join(segments[:fixed]), tuple(segments[fixed:])


def _glob_parts(path: str) -> tuple[Location, tuple[str, ...]]:
    """Split a glob into the location of its fixed prefix and the pattern's remaining segments."""
    head, *rest = path.split("://", 1)
    prefix, segments = (f"{head}://", rest[0]) if rest else ("", head)
    fixed, pattern = split_glob(segments)
    return Location.of(prefix + (fixed or ("/" if segments.startswith("/") else "."))), pattern


def _may_match_below(pattern: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    """Return True if ``pattern`` can match a path that starts with ``segments`` and goes on below them."""
    for index, part in enumerate(pattern):
        if part == "**":
            return True
        if index == len(segments):
            return True  # the pattern goes on below the given segments
        if not fnmatch.fnmatchcase(segments[index], part):
            return False
    return False  # every match ends at or above the last segment


def overlap(input_path: str, output_path: str) -> str | None:
    """
    Say how ``output_path`` stands to ``input_path`` (a file, directory or glob) when writing it would touch the
    input's data: ``"is"``, ``"contains"`` or ``"lies inside"``; None when the two are apart.
    """
    output = Location.of(output_path)
    if glob.has_magic(input_path):
        root, pattern = _glob_parts(input_path)
    else:
        root, pattern = Location.of(input_path), ()
    if output == root:
        return "is"
    if output.contains(root):
        return "contains"
    if root.contains(output) and (not pattern or _may_match_below(pattern, output.parts[len(root.parts) :])):
        return "lies inside"
    return None
