"""
Commit of a job's output to an object store (``s3://``, ``gs://``, ``abfs://``), where nothing renames atomically.

A try writes its files into a local staging directory, then publishes them under the output prefix with names
of its own (``part-00000.parquet`` becomes ``part-00000-<token>.parquet``), so no earlier output's object is
overwritten. The manifest, written last with a conditional write (S3 ``If-Match`` on the manifest this try
started from, ``If-None-Match`` when there was none), is the only proof of a published output: it lists the
files with their sizes and checksums. Two runs that write one output at once: one manifest write wins, the
other fails with :class:`OutputConflictError` and removes its own objects. After the manifest, ``_SUCCESS`` is
written and the objects no manifest lists (an earlier output's, a killed try's) are removed.

A try may instead stage its files on the store itself, below ``_tries/<token>/`` (the Spark application does:
:mod:`.hadoop_fs`); they are published by renaming them. :class:`ObjectTry` is the protocol for both.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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
#: A file a try staged on the store itself (the Spark application's executors write there): ``_tries/<token>/...``.
_STAGED = re.compile(rf"^{CLAIMS}/(?P<token>[0-9a-f]{{12}})/")


def _key(fs: AbstractFileSystem, uri: str) -> str:
    """The filesystem's own spelling of ``uri`` (``bucket/key``), without a trailing slash."""
    return cast(str, fs._strip_protocol(uri).rstrip("/"))  # fsspec is untyped


def _published_name(relative: str, token: str) -> str:
    """``a=1/part-0.parquet`` -> ``a=1/part-0-<token>.parquet``."""
    directory, _, name = relative.rpartition("/")
    stem, dot, suffixes = name.partition(".")
    return f"{directory}/{stem}-{token}{dot}{suffixes}".lstrip("/")


def _token(name: str) -> str | None:
    match = _STAGED.match(name) or _TRY_FILE.search(name) or _CLAIM.match(name)
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
    # a store without ETags (Hadoop's local filesystem): the content identifies the manifest
    etag = info.get("ETag") or info.get("etag") or hashlib.sha256(content).hexdigest()
    return {**json.loads(content), "etag": etag}


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


class ObjectTry:
    """
    One try's commit of an output on an object store (see the module): its claim, its objects, the manifest.

    :param fs: the store's filesystem (fsspec, or one with the same calls such as
        :class:`~airflow_provider_enterprise.output.hadoop_fs.HadoopFileSystem`).
    :raises OutputNotOwnedError: the output holds objects no commit and no claimed try wrote.
    """

    def __init__(self, fs: AbstractFileSystem, output_uri: str) -> None:
        self.fs, self.output_uri = fs, output_uri
        self.prefix = _key(fs, output_uri)
        self.previous = check_object_output_replaceable(fs, output_uri)
        self.token = uuid.uuid4().hex[:12]
        self.claim = f"{self.prefix}/{CLAIMS}/{self.token}.json"
        #: This try's objects, removed by :meth:`discard` (after :meth:`publish`: its claim only).
        self.written: list[str] = []

    @property
    def staging(self) -> str:
        """Where this try may stage files on the store itself (they are its own while its claim exists)."""
        return f"{self.prefix}/{CLAIMS}/{self.token}"

    def stake(self) -> None:
        """Write the claim: objects named by this try's token are its own, for the next commit to remove."""
        self.fs.pipe_file(self.claim, json.dumps({"base": self.previous and self.previous["token"]}).encode())
        self.written.append(self.claim)

    def publish(
        self, files: list[tuple[str, int, str]], place: Callable[[str, str], None], extra: dict[str, Any]
    ) -> dict[str, Any]:
        """
        Place each staged file under its published name, write the manifest (with ``extra``: the engine's figures)
        and ``_SUCCESS``, remove what the new manifest replaced; return the manifest.

        :param files: the staged files: (path relative to the staging location, size, sha256).
        :param place: puts the staged file (first argument) at the object key (second argument).
        """
        entries = []
        for relative, size, sha256 in files:
            name = _published_name(relative, self.token)
            self.written.insert(0, f"{self.prefix}/{name}")
            place(relative, self.written[0])
            entries.append({"path": name, "staged_as": relative, "size": size, "sha256": sha256})
        manifest = {**extra, "version": MANIFEST_VERSION, "token": self.token, "files": entries}
        body = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
        previous = self.previous
        etag = previous["etag"] if previous else None
        _write_manifest(self.fs, f"{self.prefix}/{MANIFEST}", body, etag, self.output_uri)
        self.written = [self.claim]  # published: only the claim is left to remove
        self.fs.pipe_file(f"{self.prefix}/{SUCCESS_MARKER}", json.dumps({"token": self.token}).encode())
        try:
            _remove_stale(self.fs, self.prefix, self.token, previous)
        except OSError as err:  # published: what is left is removed by the next commit
            log.warning("Could not remove the objects the commit of %s replaced: %s", self.output_uri, err)
        return manifest

    def discard(self) -> None:
        """Remove this try's objects (all of them unless it published, then its claim), in the order written."""
        if self.written:
            try:
                self.fs.rm(self.written)
            except OSError as err:  # the next commit removes them
                log.warning("Could not remove the objects of try %s under %s: %s", self.token, self.output_uri, err)


@contextmanager
def staged_object_output(fs: AbstractFileSystem, output_uri: str) -> Iterator[Path]:
    """
    Yield a local staging directory; on success, publish its files under ``output_uri`` (see the module).

    A ``_manifest.json`` the engine wrote into the staging directory is merged into the published manifest
    (its row counts, timings). On error nothing is published and this try's objects are removed.
    """
    attempt = ObjectTry(fs, output_uri)
    staging = Path(tempfile.mkdtemp(prefix=f"enterprise-staging-{attempt.token}-"))
    try:
        yield staging
        engine_manifest = staging / MANIFEST
        extra = json.loads(engine_manifest.read_text()) if engine_manifest.is_file() else {}
        engine_manifest.unlink(missing_ok=True)
        attempt.stake()
        staged = sorted(p for p in staging.rglob("*") if p.is_file())
        files = [
            (str(p.relative_to(staging)), p.stat().st_size, _sha256(p))
            for p in staged
            if str(p.relative_to(staging)) != SUCCESS_MARKER and not p.name.endswith(".crc")
        ]
        attempt.publish(files, lambda relative, key: fs.put_file(str(staging / relative), key), extra)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        attempt.discard()


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
