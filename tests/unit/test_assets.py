"""
Tests for assets.py's run-time parts: the figures an output's asset event carries and where its manifest is.
Asset URIs and the operators' automatic inlets and outlets: tests/unit/test_lineage_naming.py; events emitted by a
real run: tests/integration/test_lineage.py.
"""

from __future__ import annotations

from pathlib import Path

from airflow_provider_enterprise import assets
from airflow_provider_enterprise.engines.base import JobResult
from airflow_provider_enterprise.spec import validate_job_spec


def test_the_manifest_is_the_success_marker_of_a_local_commit_else_the_manifest_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert assets.manifest_location(f"{out}/") == f"{out}/_SUCCESS"  # the local engine's commit
    (out / "_manifest.json").write_text("{}")
    assert assets.manifest_location(str(out)) == f"{out}/_manifest.json"  # Spark's commit
    assert assets.manifest_location("s3://lake/out/") == "s3://lake/out/_manifest.json"


def test_an_output_event_carries_the_jobs_figures_and_its_checks_summary(tmp_path: Path) -> None:
    spec = validate_job_spec({"job_name": "d", "input_path": "/in.csv", "output_path": "s3://lake/daily"})
    result = JobResult("local", "s3://lake/daily", rows_in=10, rows_out=8, duration_seconds=1.0, bad_rows=2)
    assert assets.event_extra(spec, result, job_id=5) == {
        "job_id": 5,
        "output_path": "s3://lake/daily",
        "rows_out": 8,
        "bad_rows": 2,
        "manifest": "s3://lake/daily/_manifest.json",
    }
    checks = [
        {"name": "rows", "outcome": "passed"},
        {"name": "ids", "outcome": "passed"},
        {"name": "nulls", "outcome": "warned"},
    ]
    checked = JobResult("local", "s3://lake/daily", 10, 8, 1.0, checks=checks)
    assert assets.event_extra(spec, checked, job_id=5)["checks"] == {"passed": 2, "warned": 1, "not_passed": ["nulls"]}


def test_input_paths_are_the_input_and_the_named_inputs() -> None:
    named = {"customers": {"path": "/c.csv"}, "archive": "/a.csv"}
    assert assets.input_paths("/in.csv", named) == ["/in.csv", "/c.csv", "/a.csv"]
    assert assets.input_paths(None, named) == ["/c.csv", "/a.csv"]
    assert assets.input_paths("/in.csv", None) == ["/in.csv"]


def test_a_uri_airflow_refuses_gets_no_automatic_asset() -> None:
    too_long = "/data/" + "x" * 1600 + ".csv"  # Airflow refuses asset names over 1,500 characters
    kwargs = assets.with_job_assets({}, inputs=["/data/in.csv", too_long, "/data/straße.csv"], output="/data/out")
    assert [a.uri for a in kwargs["inlets"]] == ["file:///data/in.csv", "file:///data/straße.csv"]
    assert [a.uri for a in kwargs["outlets"]] == ["file:///data/out"]
