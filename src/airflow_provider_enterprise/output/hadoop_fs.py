"""
The manifest commit of :mod:`.object_store` through Hadoop's FileSystem API, on a Spark driver.

The try claims its token first; Spark's executors then write its files straight into its staging location on the
store (``_tries/<token>/`` below the output), and the commit renames each one to its published name before the
manifest, ``_SUCCESS`` and the removal of what it replaced, as :class:`~.object_store.ObjectTry` does for every
store: the same objects and the same manifest whichever engine wrote them. Hadoop's FileSystem of the output's URI
(``s3a://``, ``gs://``, ``abfss://``, ``file://``) is reached through pyspark's JVM gateway, so this runs on the
driver of a classic session only. No Airflow imports.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.exceptions import StorageConfigurationError
from airflow_provider_enterprise.output.object_store import ObjectTry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Hadoop's answer when no connector serves a URI's scheme (or its class is missing from the classpath).
_MISSING_CONNECTOR = re.compile(r"UnsupportedFileSystemException|ClassNotFoundException")


class HadoopFileSystem:
    """
    The calls :mod:`.object_store` and the object listing make on an fsspec filesystem, on Hadoop's FileSystem of
    ``uri``. Keys are the URIs Hadoop qualifies (``file:/tmp/out``, ``s3a://bucket/key``).
    """

    def __init__(self, spark: SparkSession, uri: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None  # a classic session's driver has its JVM gateway
        self._jvm = jvm
        configuration = spark.sparkContext._jsc.hadoopConfiguration()
        try:
            self._fs = self._call(self._path(uri).getFileSystem, configuration)
        except OSError as err:
            if not _MISSING_CONNECTOR.search(str(err)):
                raise
            raise StorageConfigurationError(
                f"{uri!r}: Spark has no Hadoop filesystem for this store ({err}): its connector jar is not on Spark's "
                "classpath"
            ) from None
        self.protocol = (self._fs.getScheme(),)

    def _path(self, key: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(key)

    def _call(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a FileSystem call; Java's FileNotFoundException becomes Python's, other IOExceptions OSError."""
        from py4j.protocol import Py4JJavaError

        try:
            return call(*args)
        except Py4JJavaError as err:
            kind = err.java_exception.getClass().getName()
            if kind == "java.io.FileNotFoundException":
                raise FileNotFoundError(str(err.java_exception.getMessage())) from None
            raise OSError(f"{kind}: {err.java_exception.getMessage()}") from None

    def _strip_protocol(self, uri: str) -> str:
        return str(self._fs.makeQualified(self._path(uri)).toString())

    def invalidate_cache(self, path: str | None = None) -> None:
        """Hadoop's FileSystem lists the store at each call: nothing is cached."""

    @staticmethod
    def _entry(status: Any) -> dict[str, Any]:
        kind = "directory" if status.isDirectory() else "file"
        return {"name": str(status.getPath().toString()), "type": kind, "size": int(status.getLen())}

    def info(self, key: str) -> dict[str, Any]:
        return self._entry(self._call(self._fs.getFileStatus, self._path(key)))

    def find(self, key: str, detail: bool = False) -> Any:
        """Every file below ``key`` (or ``key`` itself when it is a file; none when it does not exist), as fsspec's
        ``find`` returns them."""
        found: dict[str, dict[str, Any]] = {}
        try:
            files = self._call(self._fs.listFiles, self._path(key), True)
        except FileNotFoundError:
            return found if detail else []
        while self._call(files.hasNext):
            entry = self._entry(files.next())
            found[entry["name"]] = entry
        return found if detail else sorted(found)

    def glob(self, pattern: str, detail: bool = False) -> Any:
        statuses = self._call(self._fs.globStatus, self._path(pattern)) or []
        found = {entry["name"]: entry for entry in map(self._entry, statuses)}
        return found if detail else sorted(found)

    def cat_file(self, key: str) -> bytes:
        stream = self._call(self._fs.open, self._path(key))
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def pipe_file(self, key: str, value: bytes) -> None:
        stream = self._call(self._fs.create, self._path(key), True)
        try:
            stream.write(bytearray(value))
        finally:
            stream.close()

    def sha256(self, key: str) -> str:
        """The SHA-256 of a file, computed in the JVM as it streams from the store."""
        stream = self._call(self._fs.open, self._path(key))
        try:
            return str(self._jvm.org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream))
        finally:
            stream.close()

    def mv(self, source: str, target: str) -> None:
        destination = self._path(target)
        if not self._call(self._fs.exists, destination.getParent()):  # HDFS and local renames need the parent
            self._call(self._fs.mkdirs, destination.getParent())
        if not self._call(self._fs.rename, self._path(source), destination):
            raise OSError(f"Hadoop could not rename {source} to {target}")

    def rm(self, keys: list[str]) -> None:
        """Remove each key (a directory with everything below it), in the order given."""
        for key in keys:
            self._call(self._fs.delete, self._path(key), True)


@dataclass
class HadoopStaging:
    """
    A try's staging location on the store, as :func:`staged_hadoop_output` yields it.

    :param uri: where Spark writes the try's files.
    :param extra: the engine's figures (row counts, timings), merged into the published manifest.
    :param manifest: the published manifest, once the commit published it.
    """

    uri: str
    extra: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None


def _staged_files(fs: HadoopFileSystem, staging: str) -> list[tuple[str, int, str]]:
    """The data files of a staging location: (path relative to it, size, sha256); Hadoop's and Spark's markers
    (``_SUCCESS`` in each directory Spark wrote, hidden checksum files) are left out."""
    files = []
    for key, entry in sorted(fs.find(staging, detail=True).items()):
        relative = key[len(staging) + 1 :]
        name = posixpath.basename(relative)
        if name == "_SUCCESS" or name.startswith("."):
            continue
        files.append((relative, entry["size"], fs.sha256(key)))
    return files


@contextmanager
def staged_hadoop_output(spark: SparkSession, output_uri: str) -> Iterator[HadoopStaging]:
    """
    Claim a try of ``output_uri`` and yield its staging location on the store; on success publish the files Spark
    wrote there with the manifest commit of :mod:`.object_store`. On error nothing is published and the try's
    objects (its staging location included) are removed.

    :raises OutputNotOwnedError: the output holds objects no commit and no claimed try wrote.
    :raises OutputConflictError: another run published the output while this one ran.
    """
    fs = HadoopFileSystem(spark, output_uri)
    attempt = ObjectTry(fs, output_uri)
    staging = HadoopStaging(attempt.staging)
    attempt.stake()
    try:
        yield staging
        files = _staged_files(fs, staging.uri)
        staging.manifest = attempt.publish(
            files, lambda relative, key: fs.mv(f"{staging.uri}/{relative}", key), staging.extra
        )
    finally:
        attempt.written.insert(0, staging.uri)  # before the claim: a staged file is never left unclaimed
        attempt.discard()
