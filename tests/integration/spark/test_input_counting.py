"""
The Spark application counts a CSV input's records and bad rows in the write's own scan, and falls back to a scan
of their own wherever that count would not be exact: the counts always equal the local engine's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.spark_app.counting import rerun_reason
from airflow_provider_enterprise.spark_app.job import run_job
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import MIXED, SCHEMA

pytestmark = pytest.mark.integration

RIGHT = b"id,label\n1,one\n2,two\n3,three\n"


def _inputs(tmp_path: Path) -> dict[str, dict]:
    (tmp_path / "mixed.csv").write_bytes(MIXED)
    (tmp_path / "labels.csv").write_bytes(RIGHT)
    return {
        "mixed": {"path": str(tmp_path / "mixed.csv"), "schema": SCHEMA},
        "labels": {"path": str(tmp_path / "labels.csv"), "schema": {"id": "int", "label": "string"}},
    }


def _both(spark, tmp_path: Path, name: str, logic: dict) -> tuple[dict, object]:
    fields = {"job_name": name, "inputs": _inputs(tmp_path), "primary_input": "mixed", "processing_logic": logic}
    manifest = run_job(spark, validate_job_spec({**fields, "output_path": str(tmp_path / f"{name}-spark")}), run_id="r")
    local = LocalEngine().run(validate_job_spec({**fields, "output_path": str(tmp_path / f"{name}-local")}))
    return manifest, local


@pytest.mark.parametrize(
    ("logic", "counted_in_write"),
    [
        pytest.param({"transformations": [{"type": "filter", "condition": "amount > 1"}]}, (True, False), id="plain"),
        # the optimizer proves the filter false and drops the observed subtree: Spark reports no metrics
        pytest.param({"transformations": [{"type": "filter", "condition": "1 = 0"}]}, (False, False), id="pruned"),
        # adaptive execution sees the join's right side come out empty and skips the left side's rows
        pytest.param(
            {
                "transformations": [
                    {"type": "join", "right": "labels", "on": ["id"], "how": "inner"},
                    {"type": "filter", "condition": "label = 'none'"},
                ]
            },
            (None, None),  # either way: it depends on which side's stage finishes first
            id="join",
        ),
        # the same input read twice would be observed twice
        pytest.param({"transformations": [{"type": "union", "inputs": ["mixed"]}]}, (False, False), id="read-twice"),
    ],
)
def test_counts_equal_the_local_engines_wherever_they_are_taken(
    spark, tmp_path: Path, logic: dict, counted_in_write: tuple[bool | None, bool | None]
) -> None:
    manifest, local = _both(spark, tmp_path, "job", logic)

    assert manifest["inputs"]["mixed"]["records"] == local.input_records["mixed"] == 10
    assert manifest["inputs"]["mixed"]["bad_rows"] == 7
    assert manifest["inputs"]["labels"]["records"] == local.input_records["labels"] == 3
    assert (manifest["rows_in"], manifest["bad_rows"], manifest["rows_out"]) == (
        local.rows_in,
        local.bad_rows,
        local.rows_out,
    )
    for name, expected in zip(("mixed", "labels"), counted_in_write, strict=True):
        if expected is not None:  # "labels" is not read by the plan: it is counted with a scan of its own
            assert manifest["inputs"][name]["counted_in_write"] is expected, name


def test_a_job_group_with_a_failed_task_is_not_trusted(spark) -> None:
    context = spark.sparkContext
    context.setLocalProperty("spark.jobGroup.id", "clean")
    spark.range(100).selectExpr("sum(id)").collect()
    context.setLocalProperty("spark.jobGroup.id", "failed")
    with pytest.raises(Exception, match="CAST_INVALID_INPUT"):
        spark.range(3).selectExpr("cast(concat('x', id) as int)").collect()
    context.setLocalProperty("spark.jobGroup.id", None)

    assert rerun_reason(spark, "clean") is None
    assert "had failed tasks or ran again" in rerun_reason(spark, "failed")
