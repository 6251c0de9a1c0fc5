"""An output may not equal, contain or lie inside an input, however either is spelled (DESIGN.md section 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_enterprise.spec import InvalidJobSpec, validate_job_spec
from airflow_provider_enterprise.spec.locations import Location, overlap


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.csv").write_text("id\n1\n")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.csv").write_text("id\n1\n")
    (tmp_path / "p" / "notes.txt").write_text("not the job's")
    os.symlink(tmp_path / "d", tmp_path / "link")
    return tmp_path


@pytest.mark.parametrize(
    ("input_path", "output_path", "relation"),
    [
        ("d/", "d", "is"),  # a trailing slash
        ("d", "d/", "is"),
        ("d/./sub/..", "d", "is"),  # dots
        ("link", "d", "is"),  # a symbolic link to the output
        ("d", "link", "is"),
        ("p/a.csv", "p", "contains"),  # the input file's directory (it also holds notes.txt)
        ("d/sub", "d", "contains"),
        ("d/*.csv", "d", "is"),  # a glob's directory
        ("d/*.csv", ".", "contains"),
        ("d", "d/out", "lies inside"),  # read back by the next run
        ("link", "d/out", "lies inside"),
        ("d/**/*.csv", "d/out", "lies inside"),
        ("d/*/*.parquet", "d/out", "lies inside"),
        ("p/a.csv", "p/a.csv", "is"),
    ],
)
def test_overlapping_spellings_are_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch, input_path: str, output_path: str, relation: str
) -> None:
    monkeypatch.chdir(tree)
    assert overlap(input_path, output_path) == relation
    # relative, absolute and ./ spellings alike
    assert overlap(f"./{input_path}", str(tree / output_path)) == relation
    with pytest.raises(InvalidJobSpec, match=f"output_path .* {relation} input 'input'"):
        validate_job_spec({"job_name": "j", "input_path": input_path, "output_path": output_path})


@pytest.mark.parametrize(
    ("input_path", "output_path"),
    [
        ("d/a.csv", "out"),
        ("d/*.csv", "d/out"),  # the glob cannot match a file below d/out
        ("d/sub/*.csv", "d/out"),
        ("d", "dd"),  # a common prefix of characters is not a common directory
        ("p/a.csv", "p/out"),  # a sibling of a file input is apart from it
    ],
)
def test_separate_locations_are_accepted(
    tree: Path, monkeypatch: pytest.MonkeyPatch, input_path: str, output_path: str
) -> None:
    monkeypatch.chdir(tree)
    assert overlap(input_path, output_path) is None
    validate_job_spec({"job_name": "j", "input_path": input_path, "output_path": output_path, "input_format": "csv"})


@pytest.mark.parametrize(
    ("input_path", "output_path", "relation"),
    [
        ("s3a://bucket/raw/", "s3://bucket/raw", "is"),
        ("s3://bucket/raw/day=1/a.csv", "s3a://bucket/raw", "contains"),
        ("s3://bucket/raw//x/../", "s3://bucket/raw/out", "lies inside"),
        ("gs://bucket/raw/*.csv", "gs://bucket", "contains"),
        ("abfs://c@acct.dfs.core.windows.net/raw", "az://c@acct.dfs.core.windows.net/raw/out", "lies inside"),
        ("file:///srv/data/raw", "/srv/data", "contains"),
    ],
)
def test_uris_compare_by_store_and_key(input_path: str, output_path: str, relation: str) -> None:
    assert overlap(input_path, output_path) == relation


@pytest.mark.parametrize(
    ("input_path", "output_path"),
    [
        ("s3://bucket/raw", "s3://other/raw"),
        ("s3://bucket/raw", "gs://bucket/raw"),
        ("s3://bucket/raw", "s3://bucket/raw2"),
        ("s3://bucket/raw", "/bucket/raw"),
    ],
)
def test_different_stores_or_keys_are_apart(input_path: str, output_path: str) -> None:
    assert overlap(input_path, output_path) is None


def test_templated_paths_are_compared_once_rendered() -> None:
    data = {"job_name": "j", "input_path": "/w/{{ params.day }}/in.csv", "output_path": "/w/{{ params.day }}"}
    validate_job_spec(data, allow_templates=True)
    with pytest.raises(InvalidJobSpec, match="contains input"):
        validate_job_spec({**data, "input_path": "/w/2026-12-06/in.csv", "output_path": "/w/2026-12-06"})


def test_named_inputs_are_each_compared(tree: Path) -> None:
    with pytest.raises(InvalidJobSpec, match="input 'lookup'"):
        validate_job_spec(
            {
                "job_name": "j",
                "input_path": str(tree / "d" / "a.csv"),
                "inputs": {"lookup": str(tree / "p" / "a.csv")},
                "output_path": str(tree / "p"),
            }
        )


def test_location_of_resolves_links(tree: Path) -> None:
    assert Location.of(str(tree / "link" / "sub")) == Location.of(str(tree / "d" / "sub"))


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"output_path": "hdfs://namenode/out"}, "output_path"),
        ({"input_path": "ftp://host/in.csv"}, "inputs.input.path"),
        ({"inputs": {"lookup": "http://host/lookup.csv"}}, "inputs.lookup.path"),
    ],
)
def test_unknown_schemes_are_refused_naming_the_field_and_the_supported_ones(fields: dict, where: str) -> None:
    data = {"job_name": "j", "input_path": "/in.csv", "output_path": "/out", **fields}
    with pytest.raises(InvalidJobSpec, match=f"{where}: .* is not supported") as refused:
        validate_job_spec(data)
    assert "supported: s3://, s3a://, gs://" in str(refused.value)


@pytest.mark.parametrize(
    "path", ["s3://b/k.csv", "S3A://b/k.csv", "gs://b/k.csv", "abfs://c@a.dfs.core.windows.net/k.csv"]
)
def test_object_store_uris_are_accepted(path: str) -> None:
    assert validate_job_spec({"job_name": "j", "input_path": path, "output_path": "s3://b/out"}).input_path == path
