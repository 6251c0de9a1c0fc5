"""
Jobs whose inputs and outputs are ``s3://`` URIs, through ``dag.test()`` on the local engine, against the session's
S3 endpoint (moto's server on loopback) with the Airflow connection ``aws_default``: the outputs equal the same
jobs on local files, and every failure is a clear error that is never retried in vain.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from airflow_provider_enterprise.output.object_store import read_object_manifest
from support.env import EXAMPLE_DAGS
from support.jobs import dead_letters_of, job_of
from support.s3 import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


@pytest.fixture
def fs(s3_endpoint):
    return s3_endpoint.filesystem()


def read_published(fs, output: str) -> pd.DataFrame:
    """The output as a reader that trusts the manifest reads it."""
    manifest = read_object_manifest(fs, output)
    assert manifest is not None, f"no manifest at {output}"
    frames = [
        pd.read_parquet(io.BytesIO(fs.cat_file(f"{output}/{f['path']}")))
        for f in manifest["files"]
        if not f["path"].startswith("_")
    ]
    return pd.concat(frames).sort_values("category").reset_index(drop=True)


def local_result(dags, tmp_path: Path) -> pd.DataFrame:
    out = tmp_path / "local-out"
    assert dags.object_storage.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)}).state == "success"
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/*.parquet') ORDER BY category").df()


@pytest.mark.parametrize("input_format", ["csv", "parquet", "jsonl"])
def test_a_job_reads_and_writes_s3_as_it_does_local_files(
    dags, registry, fs, bucket: str, tmp_path: Path, input_format: str
) -> None:
    copy = tmp_path / f"transactions.{input_format}"
    writer = {"csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet", "jsonl": "FORMAT json"}[input_format]
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{SAMPLE}')) TO '{copy}' ({writer})")
    fs.put_file(str(copy), f"{bucket}/raw/in/{copy.name}")
    output = f"s3://{bucket}/processed"
    dag_run = dags.object_storage.test(run_conf={"input_path": f"s3a://{bucket}/raw/", "output_path": output})
    assert dag_run.state == "success"
    pd.testing.assert_frame_equal(read_published(fs, output), local_result(dags, tmp_path), check_dtype=False)
    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert (attempt["status"], attempt["output_path"]) == ("succeeded", output)
    assert SECRET_KEY not in json.dumps(attempt, default=str)


def test_globs_select_objects_and_a_second_run_replaces_the_output_whole(dags, fs, bucket: str) -> None:
    frame = pd.read_csv(SAMPLE)
    half = len(frame) // 2
    for name, part in {"a.csv": frame[:half], "b.csv": frame[half:], "skip.txt": frame[:3]}.items():
        fs.pipe_file(f"{bucket}/raw/{name}", part.to_csv(index=False).encode())
    output = f"s3://{bucket}/out"
    for _ in range(2):
        assert dags.object_storage.test(run_conf={"input_path": f"s3://{bucket}/raw/*.csv", "output_path": output})
    active = frame[frame.status == "active"]
    totals = read_published(fs, output)
    assert totals["transactions"].sum() == len(active)
    fs.invalidate_cache()
    data_objects = [p for p in fs.find(f"{bucket}/out") if not p.rsplit("/", 1)[-1].startswith("_")]
    assert len(data_objects) == 1  # the first run's files were removed by the second commit


def test_bad_rows_are_quarantined_in_the_published_output(dags, registry, fs, bucket: str) -> None:
    bad = SAMPLE.read_text() + "99,2026-01-01T00:00:00,1,books,active,12.5,DE,x\n"  # LF line ends throughout
    fs.pipe_file(f"{bucket}/raw/in.csv", bad.encode())
    output = f"s3://{bucket}/out"
    dag_run = dags.object_storage.test(run_conf={"input_path": f"s3://{bucket}/raw/in.csv", "output_path": output})
    assert dag_run.state == "success"
    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert attempt["bad_rows"] == 1
    manifest = read_object_manifest(fs, output)
    (quarantine,) = [f["path"] for f in manifest["files"] if f["path"].startswith("_bad_rows/")]
    (record,) = [json.loads(line) for line in fs.cat_file(f"{output}/{quarantine}").splitlines()]
    assert "too many columns" in record["reason"]
    assert (record["file"], record["line"]) == (f"s3://{bucket}/raw/in.csv", 10002)


#: A try of the job that a lost worker kills during its upload: after its first file, before the manifest.
KILLED_TRY = textwrap.dedent(
    """
    import json, os, signal, sys
    import s3fs
    from airflow_provider_enterprise.engines.local import LocalEngine
    from airflow_provider_enterprise.spec import validate_job_spec

    endpoint, key, secret, spec = sys.argv[1:]
    fs = s3fs.S3FileSystem(key=key, secret=secret, endpoint_url=endpoint, skip_instance_cache=True)
    upload = fs.put_file

    def upload_then_die(*args, **kwargs):
        upload(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    fs.put_file = upload_then_die
    LocalEngine(filesystems={"s3": fs}).run(validate_job_spec(json.loads(spec)))
    """
)


def test_a_retry_after_a_killed_try_publishes_whole_and_removes_the_killed_try_s_objects(
    dags, s3_endpoint, fs, bucket: str, tmp_path: Path
) -> None:
    fs.pipe_file(f"{bucket}/raw/in.csv", SAMPLE.read_bytes())
    output = f"s3://{bucket}/out"
    spec = {
        "job_name": "killed",
        "input_path": f"s3://{bucket}/raw/in.csv",
        "output_path": output,
        "partition_by": ["category"],  # several files: the try dies with some uploaded, some not
        "processing_logic": {"transformations": [{"type": "filter", "condition": "status = 'active'"}]},
    }
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_TRY, s3_endpoint.url, ACCESS_KEY, SECRET_KEY, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    fs.invalidate_cache()
    left = fs.find(f"{bucket}/out")
    assert read_object_manifest(fs, output) is None  # nothing published
    assert any("/_tries/" in p for p in left) and any(p.endswith(".parquet") for p in left), left

    dag_run = dags.object_storage.test(run_conf={"input_path": f"s3://{bucket}/raw/in.csv", "output_path": output})
    assert dag_run.state == "success"
    pd.testing.assert_frame_equal(read_published(fs, output), local_result(dags, tmp_path), check_dtype=False)
    fs.invalidate_cache()
    manifest = read_object_manifest(fs, output)
    expected = {f"{bucket}/out/{name}" for name in ("_SUCCESS", "_manifest.json")}
    expected |= {f"{bucket}/out/{f['path']}" for f in manifest["files"]}
    assert set(fs.find(f"{bucket}/out")) == expected  # the killed try's claim and files are gone


@pytest.mark.parametrize(
    ("conf", "error_class", "message"),
    [
        ({"storage_conn_id": "no_such_conn"}, "StorageConfigurationError", "connection 'no_such_conn', which does not"),
        ({"input_path": "s3://{bucket}/missing.csv"}, "InputNotFoundError", "'s3://{bucket}/missing.csv' does not"),
        ({"input_path": "s3://no-such-bucket-x/in.csv"}, "InputNotFoundError", "'s3://no-such-bucket-x/in.csv'"),
        ({"output_path": "s3://{bucket}/raw"}, "InvalidJobSpec", "contains input 'input'"),
        ({"output_path": "s3://{bucket}/user"}, "OutputNotOwnedError", "('notes.txt')"),
    ],
)
def test_storage_failures_are_permanent_and_name_the_uri_or_connection(
    dags, registry, fs, bucket: str, conf: dict, error_class: str, message: str
) -> None:
    fs.pipe_file(f"{bucket}/raw/in.csv", SAMPLE.read_bytes())
    fs.pipe_file(f"{bucket}/user/notes.txt", b"the user's")
    run_conf = {
        "input_path": f"s3://{bucket}/raw/in.csv",
        "output_path": f"s3://{bucket}/out",
        "storage_conn_id": "aws_default",  # dag.test() keeps a run's conf as the DAG's params for the next
    }
    run_conf |= {k: v.format(bucket=bucket) for k, v in conf.items()}
    dag_run = dags.object_storage.test(run_conf=run_conf)
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]
    assert attempt["error_class"] == error_class
    assert message.format(bucket=bucket) in attempt["error_message"]
    assert len(dead_letters_of(registry, job["job_id"])) == 1
    assert SECRET_KEY not in json.dumps(job, default=str)


def test_a_submitted_job_reads_and_writes_s3_through_the_generic_job_dag(dags, registry, fs, bucket: str) -> None:
    from airflow_provider_enterprise.clients.jobs import Job

    fs.pipe_file(f"{bucket}/raw/in.csv", SAMPLE.read_bytes())
    job = Job(
        job_name="submitted_s3",
        input_path=f"s3://{bucket}/raw/in.csv",
        output_path=f"s3://{bucket}/submitted",
        execution_engine="local",
        storage_conn_id="aws_default",
        processing_logic={"transformations": [{"type": "filter", "condition": "status = 'active'"}]},
    )
    dag_run = dags.submitted_jobs.test(run_conf=job.conf())
    assert dag_run.state == "success"
    (attempt,) = job_of(registry, dag_run, task_id="run_job")["attempts"]
    assert (attempt["status"], attempt["spec"]["storage_conn_id"]) == ("succeeded", "aws_default")
    frame = pd.read_csv(SAMPLE)
    manifest = read_object_manifest(fs, f"s3://{bucket}/submitted")
    rows = sum(
        len(pd.read_parquet(io.BytesIO(fs.cat_file(f"{bucket}/submitted/{f['path']}")))) for f in manifest["files"]
    )
    assert rows == (frame.status == "active").sum()


def test_the_example_dag_runs_on_s3_through_airflow_dags_test(
    airflow_db: str, registry, registry_url: str, fs, bucket: str, tmp_path: Path
) -> None:
    """``airflow dags test`` of ``dags/enterprise_object_storage.py``: objects in, objects out, nothing local."""
    from support.env import airflow_on_examples

    frame = pd.read_csv(SAMPLE)
    for day, part in enumerate((frame[:5000], frame[5000:]), start=1):
        fs.pipe_file(f"{bucket}/raw/transactions/day{day}.csv", part.to_csv(index=False).encode())
    conf = {"input_path": f"s3://{bucket}/raw/transactions/*.csv", "output_root": f"s3://{bucket}/curated"}
    airflow_on_examples(registry_url, tmp_path, "dags", "test", "enterprise_object_storage", "-c", json.dumps(conf))
    (job,) = registry.list_jobs(dag_id="enterprise_object_storage")
    (attempt,) = registry.get_job(job["job_id"])["attempts"]
    assert (attempt["status"], attempt["engine"], attempt["rows_in"]) == ("succeeded", "local", len(frame))
    output = attempt["output_path"]
    assert output.startswith(f"s3://{bucket}/curated/")
    revenue = read_published(fs, output)
    active = frame[frame.status == "active"]
    assert revenue["transactions"].sum() == len(active)
    assert revenue["revenue"].sum() == pytest.approx(active["amount"].sum())
    assert not any(tmp_path.iterdir())  # nothing was written to the worker's disk
