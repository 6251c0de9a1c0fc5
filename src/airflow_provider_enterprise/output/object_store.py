"""
Commit of a job's output to an object store (``s3://``, ``gs://``, ``abfs://``), where nothing renames atomically.

A try writes its files into a local staging directory, then publishes them under the output prefix with names
of its own (``part-00000.parquet`` becomes ``part-00000-<token>.parquet``), so no earlier output's object is
overwritten. The manifest, written last with a conditional write (S3 ``If-Match`` on the manifest this try
started from, ``If-None-Match`` when there was none), is the only proof of a published output: it lists the
files with their sizes and checksums. Two runs that write one output at once: one manifest write wins, the
other fails with :class:`OutputConflictError` and removes its own objects. After the manifest, ``_SUCCESS`` is
written and the objects no manifest lists (an earlier output's, a killed try's) are removed.

An output prefix holding objects that no manifest lists and no try of a job wrote is never replaced. No Airflow
imports: the filesystem (an fsspec one) comes from the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.exceptions import OutputConflictError, OutputNotOwnedError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
SUCCESS_MARKER = "_SUCCESS"
#: The manifest's format version.
MANIFEST_VERSION = 1
#: Where each try claims its token before it uploads: ``_tries/<token>.json``, holding the token of the manifest
#: it started from. A killed try's claim tells the next commit which objects are its to remove.
CLAIMS = "_tries"
#: How a published file's name carries its try's token: ``<stem>-<12 hex digits><suffixes>``.
_TRY_FILE = re.compile(r"-(?P<token>[0-9a-f]{12})(\.[^/]*)?$")
_CLAIM = re.compile(rf"^{CLAIMS}/(?P<token>[0-9a-f]{{12}})\.json$")


def _key(fs: AbstractFileSystem, uri: str) -> str:
    """The filesystem's own spelling of ``uri`` (``bucket/key``), without a trailing slash."""
    return fs._strip_protocol(uri).rstrip("/")


def _published_name(relative: str, token: str) -> str:
    """``a=1/part-0.parquet`` -> ``a=1/part-0-<token>.parquet``."""
    directory, _, name = relative.rpartition("/")
    stem, dot, suffixes = name.partition(".")
    return f"{directory}/{stem}-{token}{dot}{suffixes}".lstrip("/")


def _token(name: str) -> str | None:
    match = _TRY_FILE.search(name) or _CLAIM.match(name)
    return match["token"] if match else None


def _objects(fs: AbstractFileSystem, prefix: str) -> list[str]:
    """Every object below ``prefix``, relative to it."""
    fs.invalidate_cache(prefix)
    try:
        found = fs.find(prefix)
    except FileNotFoundError:
        return []
    return sorted(path[len(prefix) + 1 :] for path in found if path.startswith(prefix + "/"))


def read_object_manifest(fs: AbstractFileSystem, output_uri: str) -> dict[str, Any] | None:
    """Return the manifest of the output at ``output_uri`` (with its ``etag``), or None when there is none."""
    path = f"{_key(fs, output_uri)}/{MANIFEST}"
    fs.invalidate_cache(path)
    try:
        info = fs.info(path)
        content = fs.cat_file(path)
    except FileNotFoundError:
        return None
    return {**json.loads(content), "etag": info.get("ETag") or info.get("etag")}


def _claims(fs: AbstractFileSystem, prefix: str, names: list[str]) -> dict[str, str | None]:
    """The tries that claimed a token under ``prefix``: token -> the manifest token each started from (a claim
    removed meanwhile, by its try that is removing its objects, is left out)."""
    claims = {}
    for name in names:
        if match := _CLAIM.match(name):
            try:
                claims[match["token"]] = json.loads(fs.cat_file(f"{prefix}/{name}")).get("base")
            except FileNotFoundError:
                continue
    return claims


def check_object_output_replaceable(fs: AbstractFileSystem, output_uri: str) -> dict[str, Any] | None:
    """
    Raise :class:`OutputNotOwnedError` unless every object below ``output_uri`` is the manifest, the marker, a
    file the manifest lists, or an object of a try that claimed its token (a killed try's, removed later); return
    the manifest (None when there is none).
    """
    prefix = _key(fs, output_uri)
    present = _objects(fs, prefix)
    if not present:
        return None
    manifest = read_object_manifest(fs, output_uri)
    listed = {f["path"] for f in manifest["files"]} if manifest else set()
    claimed = _claims(fs, prefix, present)
    strangers = [
        name
        for name in present
        if name not in listed and name not in (MANIFEST, SUCCESS_MARKER) and _token(name) not in claimed
    ]
    if strangers:
        raise OutputNotOwnedError.of(output_uri, strangers, "object")
    return manifest


def _write_manifest(fs: AbstractFileSystem, path: str, body: bytes, etag: str | None, output_uri: str) -> None:
    """Write the manifest unless another run wrote one since ``etag`` (None: since there was none)."""
    if "s3" in fs.protocol:
        condition: dict[str, Any] = {"IfMatch": etag} if etag else {"mode": "create"}
    else:  # stores without a conditional write here: compare, then write (a narrow window remains)
        current = read_object_manifest(fs, output_uri)
        if (current and current["etag"]) != etag:
            raise OutputConflictError.of(output_uri)
        condition = {}
    try:
        fs.pipe_file(path, body, **condition)
    except (OSError, ValueError) as err:
        if _precondition_failed(err):
            raise OutputConflictError.of(output_uri) from None
        raise


def _precondition_failed(error: BaseException | None) -> bool:
    """Return True if ``error`` (or what caused it) is the store refusing a conditional write (HTTP 412)."""
    while error is not None:
        response = getattr(error, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None  # botocore's ClientError
        if code == "PreconditionFailed" or isinstance(error, FileExistsError):
            return True
        if "pre-conditions you specified did not hold" in str(error):  # s3fs's OSError of the same answer
            return True
        error = error.__cause__ or error.__context__
    return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def staged_object_output(fs: AbstractFileSystem, output_uri: str) -> Iterator[Path]:
    """
    Yield a local staging directory; on success, publish its files under ``output_uri`` (see the module).

    A ``_manifest.json`` the engine wrote into the staging directory is merged into the published manifest
    (its row counts, timings). On error nothing is published and this try's objects are removed.
    """
    prefix = _key(fs, output_uri)
    previous = check_object_output_replaceable(fs, output_uri)
    token = uuid.uuid4().hex[:12]
    claim = f"{prefix}/{CLAIMS}/{token}.json"
    staging = Path(tempfile.mkdtemp(prefix=f"enterprise-staging-{token}-"))
    uploaded: list[str] = []
    try:
        yield staging
        engine_manifest = staging / MANIFEST
        extra = json.loads(engine_manifest.read_text()) if engine_manifest.is_file() else {}
        engine_manifest.unlink(missing_ok=True)
        fs.pipe_file(claim, json.dumps({"base": previous and previous["token"]}).encode())
        uploaded.append(claim)
        files = []
        for local in sorted(p for p in staging.rglob("*") if p.is_file()):
            relative = str(local.relative_to(staging))
            if relative == SUCCESS_MARKER or local.name.endswith(".crc"):
                continue
            name = _published_name(relative, token)
            files.append({"path": name, "staged_as": relative, "size": local.stat().st_size, "sha256": _sha256(local)})
            uploaded.insert(0, f"{prefix}/{name}")
            fs.put_file(str(local), uploaded[0])
        manifest = {**extra, "version": MANIFEST_VERSION, "token": token, "files": files}
        body = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
        _write_manifest(fs, f"{prefix}/{MANIFEST}", body, previous and previous["etag"], output_uri)
        uploaded = [claim]  # published: only the claim is left to remove
        fs.pipe_file(f"{prefix}/{SUCCESS_MARKER}", json.dumps({"token": token}).encode())
        try:
            _remove_stale(fs, prefix, token, previous)
        except OSError as err:  # published: what is left is removed by the next commit
            log.warning("Could not remove the objects the commit of %s replaced: %s", output_uri, err)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if uploaded:
            try:
                fs.rm(uploaded)
            except OSError as err:  # the next commit removes them
                log.warning("Could not remove the objects of try %s under %s: %s", token, output_uri, err)


def _remove_stale(fs: AbstractFileSystem, prefix: str, token: str, previous: dict[str, Any] | None) -> None:
    """
    Remove what the new manifest (``token``) replaced: the previous manifest's files, and the objects of tries
    that started from an earlier manifest (they can never publish). A try that started from this one is left.
    """
    present = _objects(fs, prefix)
    doomed = {t for t, base in _claims(fs, prefix, present).items() if base != token and t != token}
    replaced = {f["path"] for f in previous["files"]} if previous else set()
    stale = [f"{prefix}/{name}" for name in present if name in replaced or _token(name) in doomed]
    if stale:
        fs.rm(stale)
