"""
Object stores on the Spark engine: the Hadoop configuration an Airflow connection gives the driver, the URIs Spark
reads, and whether a Spark target can serve a store at all.

A job's store connection (``storage_conn_id``, or the store's default such as ``aws_default``) becomes
``spark.hadoop.*`` properties of the connector that serves the store: S3A (hadoop-aws) for an ``aws`` connection,
the GCS connector (3.x) for ``google_cloud_platform``, ABFS (hadoop-azure) for ``wasb`` and ``adls``. They reach
the driver in a properties file only the task's user can read (:func:`write_properties`), never on spark-submit's
command line; the driver passes them to its executors over Spark's RPC. docs/security.md says where they travel.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_enterprise.exceptions import StorageConfigurationError
from airflow_provider_enterprise.spec.locations import scheme_of
from airflow_provider_enterprise.storage import storage_conn_id

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_enterprise.config import SparkEngineSettings
    from airflow_provider_enterprise.engines.spark import SparkTarget
    from airflow_provider_enterprise.spec import JobSpec

S3A = "spark.hadoop.fs.s3a."
GCS = "spark.hadoop.fs.gs."
ABFS = "spark.hadoop.fs.azure."
ABFS_CLASSES = "org.apache.hadoop.fs.azurebfs"
#: The AWS SDK's default chain, the one boto3 follows too: environment, web identity, profile, container, instance.
DEFAULT_CREDENTIALS = "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
#: The connector jar each store needs on the Spark classpath.
CONNECTOR_JARS = {"s3": "hadoop-aws", "gs": "gcs-connector", "abfs": "hadoop-azure"}
#: Connection types that configure each store.
CONN_TYPES = {"s3": ("aws",), "gs": ("google_cloud_platform",), "abfs": ("wasb", "adls")}
#: Spark's default ``spark.redaction.regex`` (4.3) and the ABFS account key it misses: the UI and event logs hide
#: the values of matching keys.
REDACTION = r"(?i)secret|password|token|access[.]?key|credential|account[.]key"


@dataclass(frozen=True)
class SparkStorage:
    """
    The object stores of one job as Spark reaches them.

    :param properties: the Spark properties of every store's connection.
    :param accounts: the Azure storage account of the ``abfs`` store, for URIs that do not name it.
    """

    properties: dict[str, str]
    accounts: dict[str, str]

    def location(self, uri: str) -> str:
        """``uri`` as Spark's connectors read it: ``s3a://`` for S3, ``abfss://container@account.dfs...`` for Azure."""
        store = scheme_of(uri)
        parts = urlsplit(uri)
        if store == "s3":
            return "s3a://" + uri.split("://", 1)[1]
        if store == "abfs" and "@" not in parts.netloc:
            path = uri.split("://", 1)[1][len(parts.netloc) :]
            return f"abfss://{parts.netloc}@{_dfs_host(self.accounts[store])}{path}"
        return uri

    def spark_spec(self, spec: JobSpec) -> JobSpec:
        """``spec`` with its inputs and output at :meth:`location`."""
        inputs = {
            name: source.model_copy(update={"path": self.location(source.path)}) for name, source in spec.inputs.items()
        }
        return spec.model_copy(update={"inputs": inputs, "output_path": self.location(spec.output_path)})


def stores_of(spec: JobSpec) -> set[str]:
    """The object stores ``spec`` reads or writes (``s3``, ``gs``, ``abfs``)."""
    return {store for path in [*(s.path for s in spec.inputs.values()), spec.output_path] if (store := scheme_of(path))}


def unserved(stores: Iterable[str], target: SparkTarget, settings: SparkEngineSettings) -> str | None:
    """Why the Spark ``target`` cannot read and write ``stores`` (None: it can)."""
    stores = set(stores)
    if not stores:
        return None
    if target.is_connect:
        return (
            f"Spark Connect at {target.display} reads object stores with its server's own Hadoop configuration, "
            "which a job cannot set: run object-store jobs with spark-submit (a spark connection) or locally"
        )
    if target.deploy_mode == "cluster":
        return (
            "a cluster-mode driver gets neither the task's store credentials (they reach the driver only in client "
            "deploy mode) nor a local place to report its outcome: run object-store jobs in client deploy mode"
        )
    if missing := sorted(stores - set(settings.object_stores)):
        jars = ", ".join(f"{CONNECTOR_JARS[store]} for {store}" for store in missing)
        return (
            f"the Spark classpath does not serve {', '.join(f'{s}://' for s in missing)}: engines.spark.object_stores "
            f"lists {list(settings.object_stores)}; add the connector jar ({jars}) to Spark and list the store there"
        )
    return None


def spark_storage(spec: JobSpec, private_dir: Path) -> SparkStorage:
    """
    Map the connection of each object store ``spec`` names to Spark properties.

    :param private_dir: a directory only this user reads, for a service-account key the driver needs as a file.
    :raises StorageConfigurationError: a connection is missing, of a type that does not serve its store, or has
        credentials that are not mapped; the message names the connection, never a secret.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    properties: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for store in sorted(stores_of(spec)):
        conn_id = storage_conn_id(store, spec.storage_conn_id)
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            raise StorageConfigurationError(
                f"{store}:// is read and written through Airflow connection {conn_id!r}, which does not exist"
            ) from None
        if conn.conn_type not in CONN_TYPES[store]:
            raise StorageConfigurationError(
                f"connection {conn_id!r} is of type {conn.conn_type!r}, which does not configure {store}:// on Spark "
                f"(supported: {', '.join(CONN_TYPES[store])})"
            )
        if store == "abfs":
            accounts[store] = _azure_account(conn)
        properties |= _MAPPINGS[conn.conn_type](conn, _Extras(conn), private_dir)
    if properties:
        properties["spark.redaction.regex"] = REDACTION
    return SparkStorage(properties, accounts)


class _Extras:
    """A connection's extras, read as its provider's hook reads them (also with the old ``extra__<type>__`` prefix)."""

    def __init__(self, conn: Connection) -> None:
        self.conn_id, self._extra, self._prefix = conn.conn_id, conn.extra_dejson, f"extra__{conn.conn_type}__"

    def get(self, name: str) -> Any:
        return self._extra.get(name) or self._extra.get(self._prefix + name) or None

    def refuse(self, *names: str, why: str) -> None:
        """Raise when one of the extras ``names`` is set: it is not mapped (``why`` says what to do instead)."""
        if found := [name for name in names if self.get(name)]:
            raise StorageConfigurationError(
                f"connection {self.conn_id!r} sets {', '.join(found)}, which the spark engine does not map: {why}"
            )


def _secret(value: str) -> str:
    """Register ``value`` with Airflow's secrets masker (an extra whose name it does not know may hold it)."""
    from airflow.sdk.log import mask_secret

    mask_secret(value)
    return value


def _aws(conn: Connection, extras: _Extras, private_dir: Path) -> dict[str, str]:
    """An ``aws`` connection as S3A properties (hadoop-aws 3.4+, AWS SDK v2)."""
    extras.refuse(
        "role_arn", "profile_name", "aws_account_id",
        why="give the connection keys, or none to use the default credentials provider chain",
    )  # fmt: skip
    access = extras.get("aws_access_key_id") or conn.login
    secret = extras.get("aws_secret_access_key") or conn.password
    token = extras.get("aws_session_token")
    if bool(access) != bool(secret):
        raise StorageConfigurationError(f"connection {conn.conn_id!r} has an access key id or a secret key, not both")
    if access and secret:  # both or neither (checked above)
        provider = "TemporaryAWSCredentialsProvider" if token else "SimpleAWSCredentialsProvider"
        properties = {
            f"{S3A}aws.credentials.provider": f"org.apache.hadoop.fs.s3a.{provider}",
            f"{S3A}access.key": access,
            f"{S3A}secret.key": _secret(secret),
        }
        if token:
            properties[f"{S3A}session.token"] = _secret(token)
    else:
        properties = {f"{S3A}aws.credentials.provider": DEFAULT_CREDENTIALS}
    if endpoint := extras.get("endpoint_url"):
        properties |= {f"{S3A}endpoint": endpoint, f"{S3A}path.style.access": "true"}
    if region := extras.get("region_name"):
        properties[f"{S3A}endpoint.region"] = region
    return properties


def _gcp(conn: Connection, extras: _Extras, private_dir: Path) -> dict[str, str]:
    """A ``google_cloud_platform`` connection as GCS connector (3.x) properties."""
    extras.refuse(
        "key_secret_name", "credential_config_file", "impersonation_chain",
        why="give the connection key_path or keyfile_dict, or neither for application default credentials",
    )  # fmt: skip
    key_path, keyfile = extras.get("key_path"), extras.get("keyfile_dict")
    if key_path and keyfile:
        raise StorageConfigurationError(f"connection {conn.conn_id!r} sets both key_path and keyfile_dict: keep one")
    properties = {f"{GCS}auth.type": "APPLICATION_DEFAULT"}
    if keyfile:
        try:
            content = keyfile if isinstance(keyfile, dict) else json.loads(_secret(keyfile))
        except ValueError:
            raise StorageConfigurationError(f"keyfile_dict of connection {conn.conn_id!r} is not JSON") from None
        key_path = str(private_dir / f"gcp-{conn.conn_id}.json")
        _write_private(Path(key_path), json.dumps(content))
    if key_path:
        properties = {
            f"{GCS}auth.type": "SERVICE_ACCOUNT_JSON_KEYFILE",
            f"{GCS}auth.service.account.json.keyfile": key_path,
        }
    if project := extras.get("project"):
        properties[f"{GCS}project.id"] = project
    return properties


def _azure_account(conn: Connection) -> str:
    """The storage account of a ``wasb`` or ``adls`` connection: its host (an account name or URL) when it has one
    (``adls``; ``wasb`` with a service principal), else its login."""
    tenant = _Extras(conn).get("tenant_id")
    name = conn.host if conn.conn_type == "adls" or tenant else conn.login
    if name and ("://" in name or "." in name):
        name = ((urlsplit(name).hostname or "") if "://" in name else name).split(".")[0]
    if not name:
        raise StorageConfigurationError(f"connection {conn.conn_id!r} names no storage account (host or login)")
    return name


def _dfs_host(account: str) -> str:
    return f"{account}.dfs.core.windows.net"


def _azure(conn: Connection, extras: _Extras, private_dir: Path) -> dict[str, str]:
    """A ``wasb`` or ``adls`` connection as ABFS properties for its account's dfs host."""
    extras.refuse(
        "connection_string", "managed_identity_client_id", "workload_identity_tenant_id",
        why="give the account key, a SAS token, or a service principal (tenant_id with client id and secret)",
    )  # fmt: skip
    host = _dfs_host(_azure_account(conn))
    if tenant := extras.get("tenant_id"):
        if not (conn.login and conn.password):
            raise StorageConfigurationError(
                f"connection {conn.conn_id!r} has a tenant_id: its login and password must be the service principal's "
                "client id and secret"
            )
        return {
            f"{ABFS}account.auth.type.{host}": "OAuth",
            f"{ABFS}account.oauth.provider.type.{host}": f"{ABFS_CLASSES}.oauth2.ClientCredsTokenProvider",
            f"{ABFS}account.oauth2.client.id.{host}": conn.login,
            f"{ABFS}account.oauth2.client.secret.{host}": _secret(conn.password),
            f"{ABFS}account.oauth2.client.endpoint.{host}": f"https://login.microsoftonline.com/{tenant}/oauth2/token",
        }
    if sas := extras.get("sas_token"):
        return {
            f"{ABFS}account.auth.type.{host}": "SAS",
            f"{ABFS}sas.token.provider.type.{host}": f"{ABFS_CLASSES}.sas.FixedSASTokenProvider",
            f"{ABFS}sas.fixed.token.{host}": _secret(sas.lstrip("?")),
        }
    if key := extras.get("shared_access_key") or conn.password:
        return {f"{ABFS}account.auth.type.{host}": "SharedKey", f"{ABFS}account.key.{host}": _secret(key)}
    raise StorageConfigurationError(
        f"connection {conn.conn_id!r} has no credentials the spark engine maps (an account key, a SAS token or a "
        "service principal)"
    )


_MAPPINGS: dict[str, Callable[[Connection, _Extras, Path], dict[str, str]]] = {
    "aws": _aws,
    "google_cloud_platform": _gcp,
    "wasb": _azure,
    "adls": _azure,
}


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable and writable by this user only (it must not exist), holding ``text``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _escape(text: str) -> str:
    """Escape ``text`` for a Java properties file (read as UTF-8 by spark-submit)."""
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    for special in "=:#!":
        escaped = escaped.replace(special, "\\" + special)
    return escaped[:1].replace(" ", "\\ ") + escaped[1:]


def write_properties(path: Path, properties: Mapping[str, str]) -> Path:
    """Write ``properties`` as a Java properties file only this user can read (``--properties-file``); return it."""
    _write_private(path, "".join(f"{_escape(key)}={_escape(value)}\n" for key, value in properties.items()))
    return path
