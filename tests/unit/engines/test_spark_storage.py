"""
Object stores on the Spark engine without Spark: each connection type's Hadoop properties (property names checked
against the hadoop-aws, gcs-connector 3.x and hadoop-azure ABFS documentation), the URIs Spark reads, the private
properties file, and which Spark targets may take an object-store job.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from airflow_provider_enterprise.config import SparkEngineSettings
from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
from airflow_provider_enterprise.engines.spark_storage import spark_storage, unserved, write_properties
from airflow_provider_enterprise.exceptions import EngineNotAvailableError, StorageConfigurationError
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error
from airflow_provider_enterprise.spec import validate_job_spec

S3A = "spark.hadoop.fs.s3a."
SECRET = "wJalrXUtnFEMI-test-secret"
HOST = "acct.dfs.core.windows.net"


def spec(output: str, conn_id: str | None = None):
    data = {"job_name": "j", "input_path": "s3://in-bucket/raw/*.csv", "output_path": output}
    return validate_job_spec({**data, "storage_conn_id": conn_id} if conn_id else data)


def properties(monkeypatch, tmp_path: Path, store_uri: str, connection: dict) -> dict[str, str]:
    monkeypatch.setenv("AIRFLOW_CONN_STORE", json.dumps(connection))
    data = {"job_name": "j", "input_path": f"{store_uri}/in.csv", "output_path": f"{store_uri}/out"}
    storage = spark_storage(validate_job_spec({**data, "storage_conn_id": "store"}), tmp_path)
    assert storage.properties.pop("spark.redaction.regex")  # the ABFS account key is redacted too
    return storage.properties


def test_aws_keys_and_endpoint(monkeypatch, tmp_path: Path) -> None:
    extra = {"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1"}
    conn = {"conn_type": "aws", "login": "AKIDTEST", "password": SECRET, "extra": extra}
    assert properties(monkeypatch, tmp_path, "s3://b", conn) == {
        f"{S3A}aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        f"{S3A}access.key": "AKIDTEST",
        f"{S3A}secret.key": SECRET,
        f"{S3A}endpoint": "http://127.0.0.1:9000",
        f"{S3A}path.style.access": "true",
        f"{S3A}endpoint.region": "eu-west-1",
    }


def test_aws_session_credentials_from_extras(monkeypatch, tmp_path: Path) -> None:
    extra = {"aws_access_key_id": "ASIATEST", "aws_secret_access_key": SECRET, "aws_session_token": "tok-1"}
    found = properties(monkeypatch, tmp_path, "s3a://b", {"conn_type": "aws", "extra": extra})
    assert found == {
        f"{S3A}aws.credentials.provider": "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
        f"{S3A}access.key": "ASIATEST",
        f"{S3A}secret.key": SECRET,
        f"{S3A}session.token": "tok-1",
    }


def test_aws_without_keys_uses_the_default_chain(monkeypatch, tmp_path: Path) -> None:
    found = properties(monkeypatch, tmp_path, "s3://b", {"conn_type": "aws"})
    assert found == {
        f"{S3A}aws.credentials.provider": "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
    }


def test_gcp_keyfile_dict_becomes_a_private_keyfile(monkeypatch, tmp_path: Path) -> None:
    keyfile = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----x", "client_email": "a@b"}
    conn = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(keyfile), "project": "p1"}}
    found = properties(monkeypatch, tmp_path, "gs://b", conn)
    path = Path(found.pop("spark.hadoop.fs.gs.auth.service.account.json.keyfile"))
    assert found == {
        "spark.hadoop.fs.gs.auth.type": "SERVICE_ACCOUNT_JSON_KEYFILE",
        "spark.hadoop.fs.gs.project.id": "p1",
    }
    assert path.parent == tmp_path and json.loads(path.read_text()) == keyfile
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_gcp_key_path_and_application_default(monkeypatch, tmp_path: Path) -> None:
    conn = {"conn_type": "google_cloud_platform", "extra": {"key_path": "/keys/sa.json"}}
    assert properties(monkeypatch, tmp_path, "gs://b", conn) == {
        "spark.hadoop.fs.gs.auth.type": "SERVICE_ACCOUNT_JSON_KEYFILE",
        "spark.hadoop.fs.gs.auth.service.account.json.keyfile": "/keys/sa.json",
    }
    conn = {"conn_type": "google_cloud_platform"}
    assert properties(monkeypatch, tmp_path, "gs://b", conn) == {"spark.hadoop.fs.gs.auth.type": "APPLICATION_DEFAULT"}


def test_wasb_account_key(monkeypatch, tmp_path: Path) -> None:
    conn = {"conn_type": "wasb", "login": "acct", "password": SECRET}
    assert properties(monkeypatch, tmp_path, "abfs://c", conn) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "SharedKey",
        f"spark.hadoop.fs.azure.account.key.{HOST}": SECRET,
    }


def test_wasb_sas_token(monkeypatch, tmp_path: Path) -> None:
    conn = {"conn_type": "wasb", "login": "acct", "extra": {"sas_token": "?sv=2024&sig=abc"}}
    assert properties(monkeypatch, tmp_path, "az://c", conn) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "SAS",
        f"spark.hadoop.fs.azure.sas.token.provider.type.{HOST}": (
            "org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider"
        ),
        f"spark.hadoop.fs.azure.sas.fixed.token.{HOST}": "sv=2024&sig=abc",
    }


@pytest.mark.parametrize(
    "conn",
    [
        {"conn_type": "wasb", "host": "https://acct.blob.core.windows.net/", "login": "client-1", "password": SECRET},
        {"conn_type": "adls", "host": "acct", "login": "client-1", "password": SECRET},
    ],
)
def test_azure_service_principal(monkeypatch, tmp_path: Path, conn: dict) -> None:
    conn = {**conn, "extra": {"tenant_id": "tenant-9"}}
    assert properties(monkeypatch, tmp_path, "abfss://c@acct.dfs.core.windows.net", conn) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "OAuth",
        f"spark.hadoop.fs.azure.account.oauth.provider.type.{HOST}": (
            "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
        ),
        f"spark.hadoop.fs.azure.account.oauth2.client.id.{HOST}": "client-1",
        f"spark.hadoop.fs.azure.account.oauth2.client.secret.{HOST}": SECRET,
        f"spark.hadoop.fs.azure.account.oauth2.client.endpoint.{HOST}": (
            "https://login.microsoftonline.com/tenant-9/oauth2/token"
        ),
    }


@pytest.mark.parametrize(
    ("uri", "connection", "message"),
    [
        ("s3://b", {"conn_type": "postgres", "password": SECRET}, "type 'postgres', which does not configure s3://"),
        ("s3://b", {"conn_type": "aws", "extra": {"role_arn": "arn:aws:iam::1:role/r"}}, "sets role_arn"),
        ("s3://b", {"conn_type": "aws", "password": SECRET}, "an access key id or a secret key, not both"),
        ("abfs://c", {"conn_type": "wasb", "login": "a", "extra": {"connection_string": SECRET}}, "connection_string"),
        ("abfs://c", {"conn_type": "wasb", "login": "acct"}, "has no credentials the spark engine maps"),
        ("gs://b", {"conn_type": "google_cloud_platform", "extra": {"key_secret_name": "s"}}, "key_secret_name"),
    ],
)
def test_unmapped_connections_are_refused_by_name(monkeypatch, tmp_path, uri, connection, message) -> None:
    with pytest.raises(StorageConfigurationError, match=message) as raised:
        properties(monkeypatch, tmp_path, uri, connection)
    assert "'store'" in str(raised.value) and SECRET not in str(raised.value)
    assert classify_error(raised.value) is ErrorKind.PERMANENT


def test_a_missing_connection_is_named(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)  # the session's S3 endpoint defines it
    with pytest.raises(StorageConfigurationError, match="'aws_default', which does not exist"):
        spark_storage(spec("s3://out-bucket/o"), tmp_path)


def test_uris_in_the_form_spark_reads(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws"}))
    storage = spark_storage(spec("s3://out-bucket/o"), tmp_path)
    spark_spec = storage.spark_spec(spec("s3://out-bucket/o"))
    assert (spark_spec.inputs["input"].path, spark_spec.output_path) == (
        "s3a://in-bucket/raw/*.csv",
        "s3a://out-bucket/o",
    )
    monkeypatch.setenv("AIRFLOW_CONN_WASB_DEFAULT", json.dumps({"conn_type": "wasb", "login": "acct", "password": "k"}))
    data = {"job_name": "j", "input_path": "az://c/in/x.csv", "output_path": "abfs://c@other.dfs.core.windows.net/o"}
    azure = spark_storage(validate_job_spec(data), tmp_path)
    assert azure.location("az://c/in/x.csv") == f"abfss://c@{HOST}/in/x.csv"
    assert azure.location("abfs://c@other.dfs.core.windows.net/o") == "abfs://c@other.dfs.core.windows.net/o"


def test_the_properties_file_is_private_and_escaped(tmp_path: Path) -> None:
    values = {"spark.hadoop.fs.s3a.secret.key": "a=b:c#d\\e\nf", "spark.x": " leading"}
    path = write_properties(tmp_path / "p.properties", values)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "spark.hadoop.fs.s3a.secret.key=a\\=b\\:c\\#d\\\\e\\nf\nspark.x=\\ leading\n"
    with pytest.raises(FileExistsError):  # never written over (a file someone placed there first)
        write_properties(path, values)


@pytest.mark.parametrize(
    ("target", "stores", "served", "reason"),
    [
        (SparkTarget("local[2]"), set(), (), None),
        (SparkTarget("local[2]"), {"s3"}, ("s3",), None),
        (SparkTarget("local[2]"), {"s3"}, (), "hadoop-aws for s3"),
        (SparkTarget("spark://m:7077"), {"gs", "s3"}, ("s3",), "does not serve gs://"),
        (SparkTarget("sc://m:15002/;token=t"), {"s3"}, ("s3",), "Spark Connect at sc://m:15002"),
        (SparkTarget("k8s://https://k:6443", deploy_mode="cluster"), {"s3"}, ("s3",), "client deploy mode"),
    ],
)
def test_which_spark_targets_serve_which_stores(target, stores, served, reason) -> None:
    why = unserved(stores, target, SparkEngineSettings(object_stores=served))
    assert why is None if reason is None else reason in why


def test_explicit_spark_on_an_unserved_store_fails_permanently_before_anything_runs() -> None:
    engine = SparkEngine(target=SparkTarget("local[1]"), settings=SparkEngineSettings(), run_id="r1")
    with pytest.raises(EngineNotAvailableError, match="engines.spark.object_stores lists \\[\\]") as raised:
        engine.run(spec("s3://out-bucket/o"))
    assert classify_error(raised.value) is ErrorKind.PERMANENT


def test_auto_routing_keeps_a_job_on_an_unserved_store_local_and_says_why(tmp_path: Path) -> None:
    from airflow_provider_enterprise.config import Settings
    from airflow_provider_enterprise.engines.routing import choose_engine
    from airflow_provider_enterprise.engines.spark_storage import stores_of
    from airflow_provider_enterprise.spec import EngineName

    (tmp_path / "in.csv").write_text("a\n1\n")
    job = validate_job_spec({"job_name": "j", "input_path": str(tmp_path / "in.csv"), "output_path": "s3://b/o"})
    settings = Settings()
    why = unserved(stores_of(job), SparkTarget("local[2]"), settings.engines.spark)
    decision = choose_engine(job, settings, spark_cores=2, spark_unavailable=why)
    assert decision.engine is EngineName.LOCAL
    assert decision.reason == f"{why}: local" and "hadoop-aws for s3" in decision.reason
