"""Object-store inputs listed and copied as local inputs would be read (moto's S3 server, s3fs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.object_inputs import download_inputs, list_objects
from airflow_provider_enterprise.exceptions import InputNotFoundError
from airflow_provider_enterprise.spec import validate_job_spec

pytestmark = pytest.mark.integration


@pytest.fixture
def fs(s3_endpoint):
    return s3_endpoint.filesystem()


@pytest.fixture
def raw(fs, bucket: str) -> str:
    for key, body in {
        "raw/a.csv": b"id\n1\n",
        "raw/day=2/b.csv": b"id\n22\n",
        "raw/_SUCCESS": b"",
        "raw/.hidden.csv": b"x",
        "raw/_bad_rows/part-0.jsonl": b"{}",
        "raw/notes.txt": b"n",
    }.items():
        fs.pipe_file(f"{bucket}/{key}", body)
    return f"s3://{bucket}/raw"


def test_listing_follows_the_local_rules_and_reads_sizes_from_the_store(fs, raw: str) -> None:
    assert list_objects(fs, raw).sizes == {"a.csv": 5, "day=2/b.csv": 6, "notes.txt": 1}
    assert list_objects(fs, raw + "/").sizes == {"a.csv": 5, "day=2/b.csv": 6, "notes.txt": 1}
    assert list_objects(fs, raw + "/*.csv").sizes == {"a.csv": 5}
    assert list_objects(fs, raw + "/**/*.csv").sizes == {"a.csv": 5, "day=2/b.csv": 6}
    single = list_objects(fs, raw + "/a.csv")
    assert (single.sizes, single.single_object) == ({"a.csv": 5}, True)
    assert list_objects(fs, raw + "/missing.csv").sizes == {}


def test_inputs_are_copied_keeping_their_layout(fs, raw: str, tmp_path: Path) -> None:
    spec = validate_job_spec(
        {
            "job_name": "j",
            "input_path": raw.replace("s3://", "s3a://") + "/a.csv",
            "inputs": {"parts": raw + "/**/*.csv", "local": str(tmp_path / "l.csv")},
            "output_path": "/tmp/out",
        }
    )
    local, origins = download_inputs(spec, {"s3": fs}, tmp_path / "copies")
    assert origins[local.inputs["input"].path] == raw + "/a.csv"
    assert Path(local.inputs["input"].path).read_text() == "id\n1\n"
    parts = Path(local.inputs["parts"].path)
    assert sorted(str(p.relative_to(parts)) for p in parts.rglob("*") if p.is_file()) == ["a.csv", "day=2/b.csv"]
    assert local.inputs["local"].path == str(tmp_path / "l.csv")


@pytest.mark.parametrize(("suffix", "what"), [("/nope.csv", "does not exist"), ("/*.parquet", "matches no object")])
def test_an_input_naming_no_object_is_a_permanent_error_naming_the_uri(
    fs, raw: str, tmp_path: Path, suffix: str, what: str
) -> None:
    spec = validate_job_spec({"job_name": "j", "input_path": raw + suffix, "output_path": "/tmp/out"})
    with pytest.raises(InputNotFoundError, match=re.escape(f"input 'input': '{raw}{suffix}' {what}")):
        download_inputs(spec, {"s3": fs}, tmp_path)
