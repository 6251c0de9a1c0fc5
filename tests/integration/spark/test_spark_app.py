"""The Spark application's job runner on a local[2] session: the local engine's rows, a manifest, a commit."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import BadRowsError, InputNotFoundError, OutputExistsError, PlanningError
from airflow_provider_enterprise.output.commit import BAD_ROWS_FILE, MANIFEST, is_committed, read_manifest
from airflow_provider_enterprise.spark_app.job import run_job
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import EXAMPLE_DAGS, MIXED, SCHEMA

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
DAILY_LOGIC = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active' AND amount > 0"},
        {
            "type": "groupby",
            "columns": ["category", "country"],
            "aggregations": {"total_amount": "sum(amount)", "transactions": "count(*)", "amount": "max"},
            "having": "transactions >= 5",
        },
        {"type": "sort", "by": ["total_amount"], "descending": True},
    ]
}


def rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet') ORDER BY ALL").fetchall()


def spec(tmp_path: Path, name: str, **fields):
    return validate_job_spec({"job_name": name, "output_path": str(tmp_path / name), **fields})


def test_the_daily_job_gives_the_local_engines_rows_and_a_manifest(spark, tmp_path: Path) -> None:
    on_spark = spec(tmp_path, "spark", input_path=str(SAMPLE), processing_logic=DAILY_LOGIC)
    manifest = run_job(spark, on_spark, run_id="run-1")
    local = LocalEngine().run(spec(tmp_path, "local", input_path=str(SAMPLE), processing_logic=DAILY_LOGIC))

    assert rows(tmp_path / "spark") == rows(tmp_path / "local")
    assert is_committed(tmp_path / "spark")
    assert read_manifest(tmp_path / "spark") == manifest
    assert (manifest["run_id"], manifest["rows_in"], manifest["rows_out"]) == ("run-1", 10_000, local.rows_out)
    assert manifest["inputs"]["input"]["multi_line"] is False  # no quoted line break: read line by line
    assert manifest["files"] and all((tmp_path / "spark" / f).is_file() for f in manifest["files"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging directory is left behind"


def test_bad_rows_are_quarantined_in_the_local_engines_layout(spark, tmp_path: Path) -> None:
    source = tmp_path / "mixed.csv"
    source.write_bytes(MIXED)
    manifest = run_job(
        spark, spec(tmp_path, "out", input_path=str(source), input_options={"schema": SCHEMA}), run_id="r"
    )
    assert (manifest["rows_in"], manifest["rows_out"], manifest["bad_rows"]) == (10, 3, 7)
    lines = [json.loads(line) for line in (tmp_path / "out" / BAD_ROWS_FILE).read_text().splitlines()]
    assert len(lines) == 7 and {line["input"] for line in lines} == {"input"}
    assert manifest["bad_rows_path"] == str(tmp_path / "out" / BAD_ROWS_FILE)
    assert sorted(p.name for p in (tmp_path / "out" / "_bad_rows").iterdir()) == ["part-0.jsonl"]


def test_quoted_line_breaks_read_with_multiline_give_the_local_engines_rows(spark, tmp_path: Path) -> None:
    source = tmp_path / "line_breaks.csv"
    source.write_bytes(b'id,category,amount\n1,"multi\nline",1\n2,plain,2\n')
    manifest = run_job(spark, spec(tmp_path, "spark", input_path=str(source), on_bad_rows="fail"), run_id="r")
    LocalEngine().run(spec(tmp_path, "local", input_path=str(source), on_bad_rows="fail"))
    assert rows(tmp_path / "spark") == rows(tmp_path / "local") == [(1, "multi\nline", 1), (2, "plain", 2)]
    read = manifest["inputs"]["input"]
    assert (read["records"], read["bad_rows"], read["multi_line"]) == (2, 0, True)


def test_bad_rows_with_on_bad_rows_fail_commit_nothing(spark, tmp_path: Path) -> None:
    source = tmp_path / "mixed.csv"
    source.write_bytes(MIXED)
    job = spec(tmp_path, "out", input_path=str(source), input_options={"schema": SCHEMA}, on_bad_rows="fail")
    with pytest.raises(BadRowsError, match=r"input 'input': 7 \("):
        run_job(spark, job, run_id="r")
    assert not (tmp_path / "out").exists()


def test_partitioned_json_output(spark, tmp_path: Path) -> None:
    job = spec(
        tmp_path,
        "out",
        input_path=str(SAMPLE),
        processing_logic={"transformations": [{"type": "select", "columns": ["country", "amount"]}]},
        output_format="json",
        partition_by=["country"],
    )
    manifest = run_job(spark, job, run_id="r")
    assert manifest["rows_out"] == 10_000
    assert {f.split("/")[0] for f in manifest["files"]} == {p.name for p in (tmp_path / "out").glob("country=*")}
    total = duckdb.sql(f"SELECT count(*) FROM read_json('{tmp_path}/out/*/*.json')").fetchall()[0][0]
    assert total == 10_000


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"input_path": "/nonexistent/x.csv"}, InputNotFoundError, "does not exist"),
        (
            {
                "input_path": str(SAMPLE),
                "processing_logic": {"transformations": [{"type": "select", "columns": ["nope"]}]},
            },
            PlanningError,
            "nope",
        ),
    ],
)
def test_errors_name_the_problem(spark, tmp_path: Path, fields, error, message) -> None:
    with pytest.raises(error, match=message):
        run_job(spark, spec(tmp_path, "out", **fields), run_id="r")
    assert not (tmp_path / "out").exists()


def test_error_if_exists_keeps_the_existing_output(spark, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("x")
    with pytest.raises(OutputExistsError):
        run_job(spark, spec(tmp_path, "out", input_path=str(SAMPLE), mode="error_if_exists"), run_id="r")
    assert (tmp_path / "out" / "keep").read_text() == "x" and not (tmp_path / "out" / MANIFEST).exists()
