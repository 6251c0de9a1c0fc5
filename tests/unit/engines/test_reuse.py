"""engines/reuse.py: which try's commit an output is, and which commits a retry takes instead of running again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.reuse import (
    ReusedOutput,
    Tries,
    committed_by_job,
    committed_earlier,
    manifest_result,
    run_id,
    try_of,
)
from airflow_provider_enterprise.spec import validate_job_spec


@pytest.fixture
def spec(tmp_path: Path):
    return validate_job_spec(
        {"job_name": "j", "input_path": str(tmp_path / "in.csv"), "output_path": str(tmp_path / "out")}
    )


def commit(spec, name: str, **figures) -> dict:
    manifest = {
        "engine": "local",
        "run_id": name,
        "files": ["part-00000.parquet"],
        "rows_in": 10,
        "rows_out": 4,
        "bad_rows": 1,
        "bad_rows_path": f"{spec.output_path}/_bad_rows",
        "inputs": {"input": {"records": 10, "bad_rows": 1}},
        "input_columns": {"input": [["a", "INTEGER"]]},
        "checks": [{"name": "rows", "outcome": "passed"}],
        "timings": {"total_seconds": 1.25},
        **figures,
    }
    out = Path(spec.output_path)
    out.mkdir(exist_ok=True)
    (out / "_manifest.json").write_text(json.dumps(manifest))
    (out / "_SUCCESS").write_text(json.dumps({"files": ["_manifest.json", *manifest["files"]], "token": "t"}))
    return manifest


def test_a_run_id_names_its_job_and_try() -> None:
    name = run_id(42, 3)
    assert name.startswith("enterprise-42-3-") and name != run_id(42, 3)
    assert try_of(name, 42) == 3
    assert try_of(name, 4) is None  # another job's (not a prefix match: job 4 is not job 42)
    assert try_of("local-0123456789ab", 42) is None
    assert try_of("driver-20261202-0009", 42) is None


@pytest.mark.parametrize(
    ("try_number", "max_tries", "retries", "first_try", "is_retry"),
    [
        (1, 2, 2, 1, False),  # a new task instance: max_tries = retries
        (2, 2, 2, 1, True),  # its retry
        (3, 2, 2, 1, True),
        (2, 3, 2, 2, False),  # cleared after try 1: max_tries = 1 + retries
        (3, 3, 2, 2, True),  # the retry of that
        (5, 6, 2, 5, False),  # cleared again after try 4
        (1, 0, 0, 1, False),  # no retries
        (3, 1, 0, 2, True),  # retries lowered since: never before try 1, never after this try
    ],
)
def test_the_series_of_a_try_starts_at_the_task_instances_last_clear(
    try_number: int, max_tries: int, retries: int, first_try: int, is_retry: bool
) -> None:
    tries = Tries.of(7, try_number, max_tries=max_tries, retries=retries)
    assert (tries.first_try, tries.is_retry) == (first_try, is_retry)


def test_an_output_is_the_commit_of_the_try_its_manifest_names(spec) -> None:
    assert committed_by_job(spec, 7) is None  # nothing committed
    manifest = commit(spec, run_id(7, 1))
    (Path(spec.output_path) / "_SUCCESS").unlink()
    assert committed_by_job(spec, 7) is None  # a manifest without the commit's marker: not committed
    manifest = commit(spec, run_id(7, 1))
    found = committed_by_job(spec, 7)
    assert found is not None and found.manifest == manifest
    assert committed_by_job(spec, 8) is None  # another job's output
    assert committed_by_job(spec, 7, tries=range(2, 3)) is None  # not one of those tries'
    assert committed_by_job(spec, 7, tries=range(1, 2)) == found


def test_a_retry_reuses_its_series_commit_and_a_first_or_cleared_try_does_not(spec) -> None:
    manifest = commit(spec, run_id(7, 2))
    assert committed_earlier(spec, Tries(7, 3, first_try=1)) is not None  # retry of the series 1..3
    assert committed_earlier(spec, Tries(7, 3, first_try=2)) is not None
    assert committed_earlier(spec, Tries(7, 3, first_try=3)) is None  # cleared after try 2: run again
    assert committed_earlier(spec, Tries(7, 2, first_try=1)) is None  # try 2's own name: not an earlier try's
    commit(spec, manifest["run_id"].replace("enterprise-7-2-", "enterprise-7-1-"))
    assert committed_earlier(spec, Tries(7, 3, first_try=2)) is None  # committed before the last clear


def test_an_object_store_output_is_read_through_its_filesystem_only(tmp_path: Path) -> None:
    on_store = validate_job_spec(
        {"job_name": "j", "input_path": str(tmp_path / "in.csv"), "output_path": "s3://lake/out"}
    )
    assert committed_by_job(on_store, 7) is None  # no filesystem for the store: nothing to reuse


def test_the_reused_output_reports_the_commits_figures_and_publishes_nothing(spec) -> None:
    name = run_id(7, 1)
    manifest = commit(spec, name)
    before = sorted(p.name for p in Path(spec.output_path).iterdir())
    found = committed_earlier(spec, Tries(7, 2, first_try=1))
    assert found is not None
    engine = ReusedOutput(found)
    result = engine.run(spec)
    assert engine.name == "local"
    assert (result.engine, result.external_id, result.rows_in, result.rows_out, result.bad_rows) == (
        "local",
        name,
        10,
        4,
        1,
    )
    assert result.checks == manifest["checks"] and result.input_records == {"input": 10}
    assert (result.output_files, result.bad_rows_path, result.duration_seconds) == (
        ["part-00000.parquet"],
        manifest["bad_rows_path"],
        1.25,
    )
    assert result.input_columns == manifest["input_columns"]
    assert sorted(p.name for p in Path(spec.output_path).iterdir()) == before


def test_a_manifest_result_takes_the_given_duration_and_id(spec) -> None:
    manifest = commit(spec, run_id(7, 1), engine="spark", files=[{"path": "part-0-abc.parquet", "size": 1}])
    result = manifest_result(spec, manifest, 2.0, "app-1")
    assert (result.engine, result.duration_seconds, result.external_id) == ("spark", 2.0, "app-1")
    assert result.output_files == ["part-0-abc.parquet"]  # a store's manifest lists dicts


def test_a_deferred_try_reattaches_to_a_running_application_and_reuses_a_succeeded_ones_output(spec) -> None:
    from airflow_provider_enterprise.clients.spark_status import ApplicationStatus
    from airflow_provider_enterprise.engines.reuse import DeferredStart

    assert DeferredStart.after(spec, 7, None) == DeferredStart()  # nothing earlier: submit
    running = ApplicationStatus("yarn", "application_1", "RUNNING")
    assert DeferredStart.after(spec, 7, running) == DeferredStart("application_1")
    finished = ApplicationStatus("yarn", "application_1", "FINISHED")
    assert DeferredStart.after(spec, 7, finished) == DeferredStart()  # it committed nothing: submit again
    commit(spec, run_id(7, 1))
    start = DeferredStart.after(spec, 7, finished)
    assert start.external_id == "application_1" and start.reused is not None
    assert start.reused.result(spec, 0.0, start.external_id).external_id == "application_1"
    assert DeferredStart.after(spec, 8, finished) == DeferredStart()  # another job's output


def test_the_earlier_application_is_the_first_running_or_succeeded_one_readable() -> None:
    from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker
    from airflow_provider_enterprise.engines.reuse import earlier_application
    from support.status_server import StatusServer

    server = StatusServer().start()
    try:
        tracker = SparkApplicationTracker.from_status_api({"backend": "standalone", "url": server.url, "conn_id": None})
        server.script("standalone", "driver-failed", "FAILED")
        server.script("standalone", "driver-running", "RUNNING")
        server.script("standalone", "driver-done", "FINISHED")
        assert earlier_application(tracker, []) is None
        assert earlier_application(tracker, ["driver-failed"]) is None  # failed: submit again
        found = earlier_application(tracker, ["driver-unknown", "driver-failed", "driver-running", "driver-done"])
        assert found is not None and (found.external_id, found.active) == ("driver-running", True)
        found = earlier_application(tracker, ["driver-done", "driver-running"])
        assert found is not None and (found.external_id, found.succeeded) == ("driver-done", True)
    finally:
        server.stop()
