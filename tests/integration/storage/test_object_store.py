"""The manifest commit on a real S3 endpoint (moto's server on loopback), through s3fs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.exceptions import OutputConflictError, OutputNotOwnedError
from airflow_provider_enterprise.output.object_store import (
    check_object_output_replaceable,
    read_object_manifest,
    staged_object_output,
)
from support.races import commit_at_once, one_winner

pytestmark = pytest.mark.integration


@pytest.fixture
def fs(s3_endpoint):
    return s3_endpoint.filesystem()


def objects(fs, bucket: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(p.removeprefix(f"{bucket}/") for p in fs.find(bucket))


def commit(fs, output: str, **files: str) -> None:
    with staged_object_output(fs, output) as staging:
        for name, content in files.items():
            path = staging / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)


def published(fs, output: str) -> dict[str, str]:
    """The manifest's files and their contents (what a reader that trusts the manifest reads)."""
    manifest = read_object_manifest(fs, output)
    return {f["path"]: fs.cat_file(f"{output}/{f['path']}").decode() for f in manifest["files"]}


def test_a_commit_publishes_files_under_names_of_its_own_and_the_manifest_last(fs, bucket: str) -> None:
    output = f"s3://{bucket}/out"
    commit(fs, output, **{"part-0.parquet": "rows", "day=1__part-0.parquet": "more"})
    manifest = read_object_manifest(fs, output)
    token = manifest["token"]
    assert [f["path"] for f in manifest["files"]] == [f"day=1/part-0-{token}.parquet", f"part-0-{token}.parquet"]
    assert manifest["files"][1]["size"] == 4
    assert len(manifest["files"][1]["sha256"]) == 64
    assert objects(fs, bucket) == sorted(
        ["out/_SUCCESS", "out/_manifest.json", f"out/day=1/part-0-{token}.parquet", f"out/part-0-{token}.parquet"]
    )
    assert json.loads(fs.cat_file(f"{bucket}/out/_SUCCESS")) == {"token": token}


def test_a_new_commit_replaces_the_previous_output_whole(fs, bucket: str) -> None:
    output = f"s3://{bucket}/out"
    commit(fs, output, **{"part-0.parquet": "first", "part-1.parquet": "first"})
    commit(fs, output, **{"part-0.parquet": "second"})
    assert list(published(fs, output).values()) == ["second"]
    token = read_object_manifest(fs, output)["token"]
    assert objects(fs, bucket) == ["out/_SUCCESS", "out/_manifest.json", f"out/part-0-{token}.parquet"]


def test_a_failed_try_publishes_nothing_and_leaves_nothing(fs, bucket: str) -> None:
    output = f"s3://{bucket}/out"
    commit(fs, output, **{"part-0.parquet": "good"})
    before = objects(fs, bucket)
    with pytest.raises(RuntimeError, match="engine died"), staged_object_output(fs, output) as staging:
        (staging / "part-0.parquet").write_text("half")
        raise RuntimeError("engine died")
    assert objects(fs, bucket) == before
    assert list(published(fs, output).values()) == ["good"]


def test_a_killed_try_s_objects_are_removed_by_the_next_commit(fs, bucket: str) -> None:
    output = f"s3://{bucket}/out"
    commit(fs, output, **{"part-0.parquet": "good"})
    base = read_object_manifest(fs, output)["token"]
    # what a try killed during its upload leaves: its claim and part of its files, no manifest
    fs.pipe_file(f"{bucket}/out/_tries/0123456789ab.json", json.dumps({"base": base}).encode())
    fs.pipe_file(f"{bucket}/out/part-0-0123456789ab.parquet", b"half")
    check_object_output_replaceable(fs, output)  # the killed try's objects are a job's, not a stranger's
    assert list(published(fs, output).values()) == ["good"]  # readers of the manifest never see them
    commit(fs, output, **{"part-0.parquet": "next"})
    token = read_object_manifest(fs, output)["token"]
    assert objects(fs, bucket) == ["out/_SUCCESS", "out/_manifest.json", f"out/part-0-{token}.parquet"]


def test_objects_no_commit_wrote_are_never_replaced(fs, bucket: str) -> None:
    fs.pipe_file(f"{bucket}/out/notes.txt", b"the user's")
    fs.pipe_file(f"{bucket}/out/report-0123456789ab.csv", b"looks like a try's, claimed by none")
    with pytest.raises(OutputNotOwnedError, match=r"holds 2 object\(s\) no commit of a job wrote there"):
        commit(fs, f"s3://{bucket}/out", **{"part-0.parquet": "new"})
    assert objects(fs, bucket) == ["out/notes.txt", "out/report-0123456789ab.csv"]
    # a file added to a committed output later is a stranger too
    commit(fs, f"s3://{bucket}/other", **{"part-0.parquet": "x"})
    fs.pipe_file(f"{bucket}/other/added.csv", b"the user's")
    with pytest.raises(OutputNotOwnedError, match="added.csv"):
        check_object_output_replaceable(fs, f"s3a://{bucket}/other")


@pytest.mark.parametrize("existing", [False, True])
def test_two_writers_at_once_one_wins_whole_the_other_fails_and_leaves_nothing(
    fs, bucket: str, existing: bool, s3_endpoint
) -> None:
    output = f"s3://{bucket}/out"
    if existing:
        commit(fs, output, **{"part-0.parquet": "before"})
    outcomes = commit_at_once(lambda: staged_object_output(s3_endpoint.filesystem(), output))  # a client each
    winner = one_winner(outcomes, OutputConflictError)
    assert set(published(fs, output).values()) == {winner}
    token = read_object_manifest(fs, output)["token"]
    assert objects(fs, bucket) == sorted(
        ["out/_SUCCESS", "out/_manifest.json", *(f"out/part-{i}-{token}.parquet" for i in range(5))]
    )


def test_the_engine_s_manifest_is_merged_into_the_published_one(fs, bucket: str, tmp_path: Path) -> None:
    output = f"s3://{bucket}/out"
    with staged_object_output(fs, output) as staging:
        (staging / "part-0.parquet").write_text("x")
        (staging / "_manifest.json").write_text(json.dumps({"rows_out": 7, "engine": "spark"}))
    manifest = read_object_manifest(fs, output)
    assert (manifest["rows_out"], manifest["engine"], len(manifest["files"])) == (7, "spark", 1)


def test_check_writable_refuses_an_existing_output_in_error_if_exists_mode_and_a_foreign_one(fs, bucket: str) -> None:
    from airflow_provider_enterprise.exceptions import OutputExistsError
    from airflow_provider_enterprise.output.commit import check_writable
    from airflow_provider_enterprise.spec import validate_job_spec

    output = f"s3://{bucket}/out"
    spec = validate_job_spec(
        {"job_name": "j", "input_path": "/in.csv", "output_path": output, "mode": "error_if_exists"}
    )
    check_writable(spec, {"s3": fs})  # nothing there yet
    commit(fs, output, **{"part-0.parquet": "x"})
    with pytest.raises(OutputExistsError, match="exists and mode is error_if_exists"):
        check_writable(spec, {"s3": fs})
    check_writable(spec.model_copy(update={"mode": "overwrite"}), {"s3": fs})  # a committed output is replaceable
    fs.pipe_file(f"{bucket}/out/notes.txt", b"the user's")
    with pytest.raises(OutputNotOwnedError, match="notes.txt"):
        check_writable(spec.model_copy(update={"mode": "overwrite"}), {"s3": fs})
