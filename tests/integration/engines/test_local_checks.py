"""The local engine's checks read the staged output back as written: every format, partitioned or not, gives the
same verdicts, and a check that keeps its failing rows leaves them beside the committed output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.spec import validate_job_spec
from airflow_provider_enterprise.spec.checks import failing_rows_file

pytestmark = pytest.mark.integration

ROWS = "id,name,amount,ts\n1,a,10.5,2026-12-06 10:00:00\n2,b,-3,2026-12-06 11:00:00\n2,,7,2026-12-05 00:00:00\n"
CHECKS = [
    {"type": "not_null", "column": "name", "severity": "warn", "keep_failing_rows": True},
    {"type": "unique", "columns": ["id"], "severity": "warn"},
    {"type": "range", "column": "amount", "min": 0, "severity": "warn", "keep_failing_rows": True},
    {"type": "row_count", "max": 3},
    {"type": "schema", "columns": {"id": "bigint", "name": "string", "amount": "double", "ts": "timestamp"}},
]
EXPECTED = [
    ("not_null_name", "warned", 1),
    ("unique_id", "warned", 1),
    ("range_amount", "warned", 1),
    ("row_count", "passed", 3),
    ("schema", "passed", {"id": "bigint", "name": "string", "amount": "double", "ts": "timestamp"}),
]


@pytest.mark.parametrize("partition_by", [[], ["id"], ["name"]])
@pytest.mark.parametrize("output_format", ["parquet", "csv", "json"])
def test_checks_read_every_staged_format(tmp_path: Path, output_format: str, partition_by: list[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text(ROWS)
    out = tmp_path / "out"
    spec = validate_job_spec(
        {
            "job_name": "checked",
            "input_path": str(source),
            "output_path": str(out),
            "output_format": output_format,
            "partition_by": partition_by,
            "processing_logic": {"checks": CHECKS},
        }
    )
    result = LocalEngine().run(spec)
    assert [(r["name"], r["outcome"], r["observed"]) for r in result.checks] == EXPECTED
    (null_name,) = [json.loads(line) for line in (out / failing_rows_file("not_null_name")).read_text().splitlines()]
    assert (null_name["id"], null_name["name"]) == (2, None)
    (negative,) = [json.loads(line) for line in (out / failing_rows_file("range_amount")).read_text().splitlines()]
    assert negative["amount"] == -3
    listed = json.loads((out / "_SUCCESS").read_text())["files"]
    assert failing_rows_file("range_amount") in listed


def test_the_committed_manifest_carries_the_figures_a_retry_reuses(tmp_path: Path) -> None:
    from dataclasses import replace

    from airflow_provider_enterprise.engines.reuse import ReusedOutput, Tries, committed_earlier, run_id

    source = tmp_path / "in.csv"
    source.write_text(ROWS + "3,c,1.5,2026-12-06 12:00:00,one field too many\n")  # a bad row, quarantined
    out = tmp_path / "out"
    spec = validate_job_spec(
        {
            "job_name": "checked",
            "input_path": str(source),
            "output_path": str(out),
            "partition_by": ["id"],
            "processing_logic": {"checks": CHECKS},
        }
    )
    name = run_id(7, 1)
    result = LocalEngine(run_id=name).run(spec)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert (manifest["engine"], manifest["run_id"], result.external_id) == ("local", name, name)
    assert "_manifest.json" in json.loads((out / "_SUCCESS").read_text())["files"]  # published with the commit
    assert result.bad_rows == 1 and result.bad_rows_path is not None

    commit = committed_earlier(spec, Tries(7, 2, first_try=1))
    assert commit is not None
    reused = ReusedOutput(commit).run(spec)
    assert replace(reused, duration_seconds=0.0) == replace(result, duration_seconds=0.0)
    assert committed_earlier(spec, Tries(7, 2, first_try=2)) is None  # cleared after try 1: runs again
