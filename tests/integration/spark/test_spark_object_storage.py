"""
Object stores on the Spark engine, on what runs here (Hadoop's S3A, GCS and ABFS jars cannot be fetched on these
machines, so no job reads a real store on Spark; docs/engines.md says so):

- a store connection's credentials reach a real spark-submit driver (local master) through the private properties
  file, while spark-submit's argv, the logged command and the driver's process command lines hold no secret;
- the object stores' manifest commit through Hadoop's FileSystem, on ``file://`` URIs with real Spark: the same
  manifest and object layout, a second run replacing the first whole, a failed try and a killed try leaving no
  published output and their files removed, an object no job wrote refused; the engine through spark-submit
  commits an output URI so;
- a store listed in ``engines.spark.object_stores`` whose connector is missing fails permanently, naming it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.config import SparkEngineSettings
from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
from airflow_provider_enterprise.engines.spark_storage import spark_storage, write_properties
from airflow_provider_enterprise.exceptions import OutputNotOwnedError, StorageConfigurationError
from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook
from airflow_provider_enterprise.output.hadoop_fs import HadoopFileSystem, staged_hadoop_output
from airflow_provider_enterprise.output.object_store import ObjectTry, read_object_manifest
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error
from airflow_provider_enterprise.spark_app.job import run_job
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import EXAMPLE_DAGS

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
SECRET = "s3a-secret-5be1d07c-not-on-argv"
TOKEN = "s3a-session-token-0c44e9d2"

#: Run by spark-submit: reports the S3A settings the driver got and the command lines of its JVM and of itself.
REPORTER = """
import hashlib, json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
hadoop = spark.sparkContext._jsc.hadoopConfiguration()

def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\\0", b" ").decode()

keys = ["fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.session.token", "fs.s3a.endpoint"]
report = {
    "hadoop_sha256": {k: hashlib.sha256((hadoop.get(k) or "").encode()).hexdigest() for k in keys},
    "endpoint": hadoop.get("fs.s3a.endpoint"),
    "jvm_cmdline": cmdline(os.getppid()),
    "python_cmdline": cmdline(os.getpid()),
}
with open(sys.argv[1], "w") as f:
    json.dump(report, f)
spark.stop()
"""


def sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_store_credentials_reach_the_driver_and_no_command_line(monkeypatch, tmp_path: Path, capfd) -> None:
    extra = {"aws_session_token": TOKEN, "endpoint_url": "http://127.0.0.1:9"}
    connection = {"conn_type": "aws", "login": "AKIDSPARKTEST", "password": SECRET, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_STORE", json.dumps(connection))
    spec = validate_job_spec(
        {"job_name": "j", "input_path": "s3://b/in.csv", "output_path": "s3://b/out", "storage_conn_id": "spark_store"}
    )
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    properties = write_properties(private / "storage.properties", spark_storage(spec, private).properties)
    app, report = tmp_path / "reporter.py", tmp_path / "report.json"
    app.write_text(REPORTER)
    hook = EnterpriseSparkSubmitHook(
        conn_id="no_such_spark_connection",
        default_master="local[1]",
        name="storage-credentials",
        application_args=[str(report)],
        properties_file=str(properties),
        conf={"spark.ui.enabled": "false"},
    )
    command = hook.build_command(str(app))
    hook.submit(str(app))
    logged = "".join(capfd.readouterr())  # the task's log: the hook's lines and spark-submit's output
    got = json.loads(report.read_text())
    assert got["hadoop_sha256"] == {
        "fs.s3a.access.key": sha256("AKIDSPARKTEST"),
        "fs.s3a.secret.key": sha256(SECRET),
        "fs.s3a.session.token": sha256(TOKEN),
        "fs.s3a.endpoint": sha256("http://127.0.0.1:9"),
    }
    assert command[command.index("--properties-file") + 1] == str(properties) and "--load-spark-defaults" in command
    for text in (" ".join(command), logged, got["jvm_cmdline"], got["python_cmdline"]):
        assert SECRET not in text and TOKEN not in text
    assert "Spark-Submit cmd" in logged and str(properties) in got["jvm_cmdline"]  # what was searched is there


def job(output: str, input_path: str = f"file://{SAMPLE}"):
    return validate_job_spec({"job_name": "hadoop-commit", "input_path": input_path, "output_path": output})


def objects(directory: Path) -> list[str]:
    """Every visible file below ``directory`` (Hadoop's local checksum files are hidden)."""
    return sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and not p.name.startswith(".")
    )


def rows(directory: Path, manifest: dict) -> int:
    files = [str(directory / f["path"]) for f in manifest["files"]]
    return duckdb.sql(f"SELECT count(*) FROM read_parquet({files})").fetchall()[0][0]


def test_the_manifest_commit_through_hadoop_on_file_uris(spark, tmp_path: Path) -> None:
    out, uri = tmp_path / "out", f"file://{tmp_path}/out"
    first = run_job(spark, job(uri), run_id="run-1")
    fs = HadoopFileSystem(spark, uri)
    assert read_object_manifest(fs, uri)["token"] == first["token"]
    names = [f["path"] for f in first["files"]]
    assert names and all(first["token"] in name for name in names)
    assert objects(out) == sorted([*names, "_SUCCESS", "_manifest.json"])  # no staging left, no claim
    assert (first["run_id"], first["rows_in"], rows(out, first)) == ("run-1", 10_000, first["rows_out"])
    assert json.loads((out / "_SUCCESS").read_text()) == {"token": first["token"]}

    second = run_job(spark, job(uri), run_id="run-2")  # replaces the first output whole
    assert objects(out) == sorted([*(f["path"] for f in second["files"]), "_SUCCESS", "_manifest.json"])
    assert read_object_manifest(fs, uri)["run_id"] == "run-2"

    # a try that fails publishes nothing
    with pytest.raises(RuntimeError, match="fails after writing"), staged_hadoop_output(spark, uri) as staging:
        spark.range(5).write.parquet(staging.uri)
        raise RuntimeError("the try fails after writing")
    assert objects(out) == sorted([*(f["path"] for f in second["files"]), "_SUCCESS", "_manifest.json"])

    killed = ObjectTry(fs, uri)  # a try killed after staging its files: its claim and files stay behind
    killed.stake()
    spark.range(5).write.parquet(killed.staging)
    assert any(name.startswith(f"_tries/{killed.token}/") for name in objects(out))

    # the retry (reading a glob, listed through Hadoop) publishes and removes the killed try's files
    third = run_job(spark, job(uri, f"file://{SAMPLE.parent}/transac*.csv"), run_id="run-3")
    assert third["rows_in"] == 10_000
    assert objects(out) == sorted([*(f["path"] for f in third["files"]), "_SUCCESS", "_manifest.json"])
    assert rows(out, third) == third["rows_out"]


def test_an_object_no_job_wrote_is_never_replaced(spark, tmp_path: Path) -> None:
    out, uri = tmp_path / "out", f"file://{tmp_path}/out"
    run_job(spark, job(uri), run_id="run-1")
    before = objects(out)
    (out / "notes.txt").write_text("a user's file")
    with pytest.raises(OutputNotOwnedError, match="notes.txt"):
        run_job(spark, job(uri), run_id="run-2")
    assert objects(out) == sorted([*before, "notes.txt"]) and (out / "notes.txt").read_text() == "a user's file"
    assert read_object_manifest(HadoopFileSystem(spark, uri), uri)["run_id"] == "run-1"


def test_the_spark_engine_commits_an_output_uri_through_hadoop(tmp_path: Path) -> None:
    settings = SparkEngineSettings(conf={"spark.ui.enabled": "false"})
    engine = SparkEngine(target=SparkTarget("local[1]"), settings=settings, run_id="hadoop-commit-1")
    result = engine.run(job(f"file://{tmp_path}/out"))
    assert (result.rows_in, result.external_id) == (10_000, "hadoop-commit-1")
    assert objects(tmp_path / "out") == sorted([*result.output_files, "_SUCCESS", "_manifest.json"])
    assert all(isinstance(name, str) and name.endswith(".parquet") for name in result.output_files)


def test_a_store_whose_connector_is_missing_fails_permanently_and_leaves_no_credentials(monkeypatch) -> None:
    connection = {"conn_type": "aws", "login": "AKIDSPARKTEST", "password": SECRET}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    # the setting claims a connector that is not there (no S3A jar can be fetched here)
    settings = SparkEngineSettings(conf={"spark.ui.enabled": "false"}, object_stores=("s3",))
    engine = SparkEngine(target=SparkTarget("local[1]"), settings=settings, run_id="no-s3a-1")
    left = set(Path(tempfile.gettempdir()).glob("enterprise-spark-*/storage.properties"))
    spec = validate_job_spec({"job_name": "no-s3a", "input_path": "s3://b/in.csv", "output_path": "s3://b/out"})
    with pytest.raises(StorageConfigurationError, match="'s3a://b/in.csv': Spark has no Hadoop filesystem") as raised:
        engine.run(spec)
    assert "S3AFileSystem" in str(raised.value) and SECRET not in str(raised.value)
    assert classify_error(raised.value) is ErrorKind.PERMANENT
    assert set(Path(tempfile.gettempdir()).glob("enterprise-spark-*/storage.properties")) == left  # removed
