"""The same checks, the same verdicts: a job's data-quality checks on DuckDB (the local engine) and on Spark
(the Spark application's runner on a local[2] session), over the same input, compared result by result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.duckdb_inputs import with_sniffed_schemas
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import DataQualityError
from airflow_provider_enterprise.spark_app.job import run_job
from airflow_provider_enterprise.spec import validate_job_spec
from airflow_provider_enterprise.spec.checks import failing_rows_file

pytestmark = pytest.mark.integration

ROWS = """id,code,email,amount,price,seen_at,active
1,A-1,ann@example.com,10.5,1.25,2026-03-01 10:00:00,true
2,B-22,bob@example,-3,2.50,2026-03-01 11:30:00,false
2,B-22,bob@example.org,7,,2026-02-27 23:59:59,true
3,,carl.x@example.com,,100.00,,true
4,c_3,"dee,the@example.com",1e3,0.01,2026-03-01 12:00:00,
5,A-1,\\escaped@example.com,0,99.99,2026-03-01 09:00:00,false
"""

EVERY_TYPE = [  # the range and matches checks fail on ROWS, and keep their failing rows
    {"type": "not_null", "column": "code"},
    {"type": "unique", "columns": ["id"]},
    {"type": "unique", "columns": ["id", "code"], "name": "id_code_unique"},
    {"type": "accepted_values", "column": "active", "values": [True]},
    {"type": "accepted_values", "column": "code", "values": ["A-1", "B-22"]},
    {"type": "range", "column": "amount", "min": 0, "max": 100, "max_inclusive": False, "keep_failing_rows": True},
    {"type": "range", "column": "price", "min": 0.01, "min_inclusive": False},
    {"type": "matches", "column": "email", "pattern": r"^[a-z._]+@[a-z]+\.(com|org)$", "keep_failing_rows": True},
    {"type": "matches", "column": "code", "pattern": r"^[A-Z]-\d+$"},
    {"type": "row_count", "min": 1, "max_change_pct": 10, "previous": 5},
    {"type": "freshness", "column": "seen_at", "max_age": "1h", "reference": "2026-03-01T12:30:00Z"},
    {"type": "schema", "columns": {"id": "bigint", "amount": "double", "seen_at": "timestamp"}, "mode": "evolve"},
    {"type": "schema", "columns": {"id": "bigint"}, "name": "frozen"},
    {"type": "row_count", "max": 3, "input": "input", "name": "input_rows"},
]

CASES = {
    "every check type, parquet output": ("parquet", [], EVERY_TYPE),
    "after a groupby, csv output": (
        "csv",
        [{"type": "groupby", "columns": ["code"], "aggregations": {"n": "count(*)", "total": "sum(amount)"}}],
        [
            {"type": "unique", "columns": ["code"]},
            {"type": "not_null", "column": "total"},
            {"type": "range", "column": "n", "max": 1},
            {"type": "schema", "columns": {"code": "string", "n": "bigint", "total": "double"}},
            {"type": "not_null", "column": "email", "input": "input"},
        ],
    ),
}


def verdicts(results: list[dict]) -> list[tuple]:
    return [(r["name"], r["outcome"], r["observed"], r["failing_rows"]) for r in results]


def job(tmp_path: Path, engine: str, output_format: str, transformations: list, checks: list, severity: str):
    source = tmp_path / "in.csv"
    source.write_text(ROWS)
    spec = validate_job_spec(
        {
            "job_name": f"checks_{engine}",
            "input_path": str(source),
            "output_path": str(tmp_path / f"out_{engine}"),
            "output_format": output_format,
            "processing_logic": {
                "transformations": transformations,
                "checks": [{**c, "severity": severity} for c in checks],
            },
        }
    )
    return with_sniffed_schemas(spec)  # as the Spark engine sends its jobs: the local engine's CSV types


@pytest.mark.parametrize("case", list(CASES))
def test_checks_give_the_same_verdicts_on_duckdb_and_spark(spark, tmp_path: Path, case: str) -> None:
    output_format, transformations, checks = CASES[case]
    on_local = job(tmp_path, "local", output_format, transformations, checks, "warn")
    local = LocalEngine().run(on_local)
    manifest = run_job(spark, job(tmp_path, "spark", output_format, transformations, checks, "warn"), run_id="r")
    assert verdicts(manifest["checks"]) == verdicts(local.checks)
    assert {r["outcome"] for r in local.checks} == {"passed", "warned"}  # both verdicts are compared
    kept = [c.check_name for c in on_local.processing_logic.checks if getattr(c, "keep_failing_rows", False)]
    for name in kept:  # the failing rows kept beside the output: the same rows on both engines
        on_duckdb, on_spark = (tmp_path / f"out_{engine}" / failing_rows_file(name) for engine in ("local", "spark"))
        assert ids(on_spark) == ids(on_duckdb) != []


def ids(path: Path) -> list[int]:
    return sorted(json.loads(line)["id"] for line in path.read_text().splitlines())


def test_a_failed_fail_check_commits_nothing_on_either_engine(spark, tmp_path: Path) -> None:
    with pytest.raises(DataQualityError) as on_duckdb:
        LocalEngine().run(job(tmp_path, "local", "json", [], EVERY_TYPE, "fail"))
    with pytest.raises(DataQualityError) as on_spark:
        run_job(spark, job(tmp_path, "spark", "json", [], EVERY_TYPE, "fail"), run_id="r")
    assert verdicts(on_spark.value.results) == verdicts(on_duckdb.value.results)
    assert str(on_spark.value) == str(on_duckdb.value).replace("checks_local", "checks_spark")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no output, no staging left
