"""
Object-store inputs of the local engine: listed through the store, copied to a private local directory, read there.

Each input's objects are listed as its local path would be (a file, every data object below a prefix with names
starting with ``_`` or ``.`` skipped, or a glob) and fetched in parallel with the filesystem's own ``get``; the
job then reads the copies with the same reader, checks and bad-row rules as a local input (``docs/engines.md``
says why a copy and not a streamed read). No Airflow imports: the filesystems come from the caller.
"""

from __future__ import annotations

import functools
import glob
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_enterprise.exceptions import InputNotFoundError
from airflow_provider_enterprise.spec import InputSpec, JobSpec
from airflow_provider_enterprise.spec.locations import scheme_of, split_glob
from airflow_provider_enterprise.spec.models import is_hidden

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


@dataclass(frozen=True)
class ObjectListing:
    """The data objects an input reads: below ``root``, by path relative to it, with their sizes in bytes."""

    root: str
    sizes: dict[str, int]
    single_object: bool = False


def list_objects(fs: AbstractFileSystem, uri: str) -> ObjectListing:
    """List the data objects input ``uri`` (an object, a prefix or a glob) reads, from the store's listing."""
    key = fs._strip_protocol(uri).rstrip("/")
    fs.invalidate_cache()
    if glob.has_magic(key):
        root, found = split_glob(key)[0], fs.glob(key, detail=True)
    else:
        try:
            info = fs.info(key)
        except FileNotFoundError:
            return ObjectListing(key, {})
        if info["type"] != "directory":
            return ObjectListing(posixpath.dirname(key), {posixpath.basename(key): int(info["size"])}, True)
        root, found = key, fs.find(key, detail=True)
    sizes = {
        relative: int(info["size"])
        for path, info in found.items()
        if info["type"] == "file" and not any(map(is_hidden, (relative := path[len(root) :].lstrip("/")).split("/")))
    }
    return ObjectListing(root, dict(sorted(sizes.items())))


def input_objects(fs: AbstractFileSystem, source: InputSpec) -> ObjectListing:
    """:func:`list_objects` of input ``source``, listed once per spec object (:meth:`InputSpec.objects`)."""
    return source.objects(functools.partial(list_objects, fs))


def require_objects(fs: AbstractFileSystem, name: str, uri: str, listing: ObjectListing | None = None) -> ObjectListing:
    """
    Return ``listing`` (by default :func:`list_objects`); raise :class:`InputNotFoundError` naming input ``name``
    when it holds no object.
    """
    listing = list_objects(fs, uri) if listing is None else listing
    if not listing.sizes:
        what = "matches no object" if glob.has_magic(uri) else "does not exist or holds no data object"
        raise InputNotFoundError(f"input {name!r}: {uri!r} {what}")
    return listing


def download_inputs(
    spec: JobSpec, filesystems: Mapping[str, AbstractFileSystem], directory: Path
) -> tuple[JobSpec, dict[str, str]]:
    """
    Copy each object-store input of ``spec`` below ``directory`` (one folder per input); return the spec that
    reads the copies (local inputs unchanged) and each copy's origin (local path -> the object's URI).

    :raises InputNotFoundError: an input names no object (its URI in the message).
    """
    inputs: dict[str, InputSpec] = {}
    origins: dict[str, str] = {}
    for name, source in spec.inputs.items():
        store = scheme_of(source.path)
        if not store:
            inputs[name] = source
            continue
        fs = filesystems[store]
        listing = require_objects(fs, name, source.path, input_objects(fs, source))
        target = directory / name
        target.mkdir(parents=True)
        copies = {str(target / rel): f"{listing.root}/{rel}" for rel in listing.sizes}
        fs.get(list(copies.values()), list(copies))
        origins |= {path: fs.unstrip_protocol(key) for path, key in copies.items()}
        local = target / next(iter(listing.sizes)) if listing.single_object else target
        inputs[name] = source.model_copy(update={"path": str(local)})
    return spec.model_copy(update={"inputs": inputs}), origins
