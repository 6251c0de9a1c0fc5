"""
Object stores the Airflow way: the fsspec filesystem of a job's ``s3://``, ``gs://`` or ``abfs://`` paths, built by
Airflow's object storage layer (:class:`airflow.sdk.ObjectStoragePath`) from an Airflow connection.

Credentials stay in the connection: the spec, the registry and the engines see URIs and a connection id only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_enterprise.exceptions import StorageConfigurationError
from airflow_provider_enterprise.spec.locations import scheme_of

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from airflow_provider_enterprise.spec import JobSpec

#: The connection each store's URIs use when the job names none (the providers' own defaults).
DEFAULT_CONN_IDS = {"s3": "aws_default", "gs": "google_cloud_default", "abfs": "wasb_default"}
#: The names of the storage connections' circuit breakers start with this (``storage:<conn_id>``).
BREAKER_PREFIX = "storage:"
#: What to install for each store's filesystem.
PACKAGES = {
    "s3": "airflow-provider-enterprise[s3] (apache-airflow-providers-amazon[s3fs])",
    "gs": "apache-airflow-providers-google",
    "abfs": "apache-airflow-providers-microsoft-azure",
}


def storage_conn_id(store: str, conn_id: str | None = None) -> str:
    """The connection of ``store``: ``conn_id``, or the store's default."""
    return conn_id or DEFAULT_CONN_IDS[store]


def filesystem(uri: str, conn_id: str | None = None) -> AbstractFileSystem:
    """
    Return the filesystem of ``uri``'s store, configured from connection ``conn_id`` (default: the store's).

    :raises StorageConfigurationError: the connection does not exist, or no installed provider serves the store;
        the message names the URI and the connection, never a secret.
    """
    from airflow.sdk import BaseHook, ObjectStoragePath
    from airflow.sdk.exceptions import AirflowNotFoundException

    store = scheme_of(uri)
    conn_id = storage_conn_id(store, conn_id)
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise StorageConfigurationError(
            f"{uri!r} is read and written through Airflow connection {conn_id!r}, which does not exist: define it, "
            "or name another with storage_conn_id"
        ) from None
    try:
        return ObjectStoragePath(uri, conn_id=conn_id).fs
    except (ImportError, ValueError) as err:
        raise StorageConfigurationError(
            f"{uri!r}: no filesystem for {store}:// is installed ({err}); install {PACKAGES[store]}"
        ) from None


def _paths(spec: JobSpec) -> list[str]:
    return [*(source.path for source in spec.inputs.values()), spec.output_path]


def breaker_names(spec: JobSpec) -> list[str]:
    """
    The circuit breakers of the storage connections ``spec`` reads and writes through, ``storage:<conn_id>`` (none
    for a job on local paths only): an unreachable store opens its connection's breaker for every job using it.
    """
    stores = {scheme_of(path) for path in _paths(spec)} - {""}
    return sorted({f"{BREAKER_PREFIX}{storage_conn_id(store, spec.storage_conn_id)}" for store in stores})


def filesystems(spec: JobSpec, conn_id: str | None = None) -> dict[str, AbstractFileSystem]:
    """The filesystem of each object store ``spec`` names, by store (empty for a job on local paths only)."""
    found: dict[str, AbstractFileSystem] = {}
    for path in _paths(spec):
        if (store := scheme_of(path)) and store not in found:
            found[store] = filesystem(path, conn_id)
    return found
