"""The DuckDB engine on generated data, checked against an independent pandas computation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from airflow_provider_enterprise.dev.sample_data import generate_transactions
from airflow_provider_enterprise.engines.local import LocalEngine
from airflow_provider_enterprise.exceptions import InputNotFoundError, JobTimeoutError
from airflow_provider_enterprise.output.commit import is_committed, staged_output
from airflow_provider_enterprise.spec import validate_job_spec

pytestmark = pytest.mark.integration

LOGIC = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active' AND amount BETWEEN 10 AND 400 AND country IN ('DE', 'FR')"},
        {"type": "select", "columns": ["category", "customer_id", "amount"]},
        {
            "type": "groupby",
            "columns": ["category"],
            "aggregations": {
                "total_amount": "sum(amount)",
                "transactions": "count(*)",
                "customers": "count(distinct customer_id)",
                "amount": "max",
            },
        },
    ]
}


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_transactions(tmp_path_factory.mktemp("data") / "transactions.csv", 50_000, seed=7)


def expected_with_pandas(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    kept = frame[(frame.status == "active") & frame.amount.between(10, 400) & frame.country.isin(["DE", "FR"])]
    grouped = kept.groupby("category").agg(
        total_amount=("amount", "sum"),
        transactions=("amount", "size"),
        customers=("customer_id", "nunique"),
        amount=("amount", "max"),
    )
    return grouped.reset_index().sort_values("category").reset_index(drop=True)


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_result_equals_pandas(transactions: Path, tmp_path: Path, output_format: str) -> None:
    spec = validate_job_spec(
        {
            "job_name": "equivalence",
            "input_path": str(transactions),
            "output_path": str(tmp_path / "out"),
            "output_format": output_format,
            "processing_logic": LOGIC,
        }
    )
    result = LocalEngine(threads=2).run(spec)

    expected = expected_with_pandas(transactions)
    reader = "read_parquet" if output_format == "parquet" else "read_csv"
    actual = duckdb.sql(f"SELECT * FROM {reader}('{tmp_path}/out/*.{output_format}') ORDER BY category").df()
    assert result.rows_in == 50_000
    assert result.rows_out == len(expected) == len(actual)
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_exact=False, rtol=1e-9)
    assert is_committed(tmp_path / "out")


def test_parquet_input_and_empty_logic_copies_every_row(transactions: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "in.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{transactions}')) TO '{parquet}' (FORMAT parquet)")
    spec = validate_job_spec({"job_name": "copy", "input_path": str(parquet), "output_path": str(tmp_path / "out")})
    result = LocalEngine().run(spec)
    assert (result.rows_in, result.rows_out) == (50_000, 50_000)


def test_missing_input_is_a_permanent_error(tmp_path: Path) -> None:
    spec = validate_job_spec(
        {"job_name": "x", "input_path": str(tmp_path / "no.csv"), "output_path": str(tmp_path / "out")}
    )
    with pytest.raises(InputNotFoundError, match="does not exist"):
        LocalEngine().run(spec)
    glob_spec = validate_job_spec(
        {"job_name": "x", "input_path": str(tmp_path / "*.csv"), "output_path": str(tmp_path / "out")}
    )
    with pytest.raises(InputNotFoundError, match="matches no file"):
        LocalEngine().run(glob_spec)


def test_timeout_interrupts_the_query_and_keeps_previous_output(tmp_path: Path) -> None:
    big = tmp_path / "big.parquet"
    duckdb.sql(
        f"COPY (SELECT range AS id, range % 1000 AS category, random() AS amount FROM range(20000000)) "
        f"TO '{big}' (FORMAT parquet)"
    )
    out = tmp_path / "out"
    with staged_output(out) as previous:  # an earlier run's committed output
        (previous / "previous.parquet").write_text("previous output")
    spec = validate_job_spec(
        {
            "job_name": "slow",
            "input_path": str(big),
            "output_path": str(out),
            "timeout": 0.3,
            "processing_logic": {
                "transformations": [
                    {
                        "type": "groupby",
                        "columns": ["id"],
                        "aggregations": {"n": "count(distinct amount)", "s": "sum(amount * amount)"},
                    }
                ]
            },
        }
    )
    with pytest.raises(JobTimeoutError, match="exceeded its timeout of 0.3 s"):
        LocalEngine(threads=1).run(spec)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "previous.parquet"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_checkpointed_job_resumes_after_the_last_committed_stage(transactions: Path, tmp_path: Path) -> None:
    stages = [
        {"type": "filter", "condition": "status = 'active'"},
        {"type": "select", "columns": ["category", "amount", "customer_id"]},
        {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)"}},
    ]
    out = tmp_path / "out"

    def spec(last: dict):
        return validate_job_spec(
            {
                "job_name": "staged",
                "input_path": str(transactions),
                "output_path": str(out),
                "processing_logic": {"transformations": [*stages, last], "checkpoint": True},
            }
        )

    # a value that does not convert fails at run time, in the last stage
    broken = spec({"type": "derive", "column": "bad", "expression": "cast(category as int)"})
    with pytest.raises(duckdb.ConversionException, match="INT32"):
        LocalEngine().run(broken)
    checkpoints = tmp_path / ".out.checkpoints"
    committed = sorted(p.name.split("-")[1] for p in checkpoints.iterdir() if (p / "_SUCCESS").exists())
    assert committed == ["000", "001", "002"]
    (checkpoints / "stage-003-halfwritten").mkdir()  # a crashed writer's leftovers are never read
    assert not out.exists()

    fixed = spec({"type": "select", "columns": ["category", "total"]})
    result = LocalEngine().run(fixed)
    assert result.resumed_after_stage == 2
    assert not checkpoints.exists()  # removed once the output is committed
    plain = LocalEngine().run(
        fixed.model_copy(
            update={
                "output_path": str(tmp_path / "plain"),
                "processing_logic": fixed.processing_logic.model_copy(update={"checkpoint": False}),
            }
        )
    )
    assert result.rows_out == plain.rows_out
    resumed = duckdb.sql(f"SELECT * FROM '{out}/*.parquet' ORDER BY category").fetchall()
    assert resumed == duckdb.sql(f"SELECT * FROM '{tmp_path}/plain/*.parquet' ORDER BY category").fetchall()


def test_a_changed_spec_does_not_reuse_stale_stages(transactions: Path, tmp_path: Path) -> None:
    def spec(condition: str):
        return validate_job_spec(
            {
                "job_name": "staged",
                "input_path": str(transactions),
                "output_path": str(tmp_path / "out"),
                "processing_logic": {
                    "transformations": [
                        {"type": "filter", "condition": condition},
                        {"type": "derive", "column": "bad", "expression": "cast(category as int)"},
                    ],
                    "checkpoint": True,
                },
            }
        )

    with pytest.raises(duckdb.ConversionException):
        LocalEngine().run(spec("status = 'active'"))
    with pytest.raises(duckdb.ConversionException):  # stage 0 changed: recomputed, not resumed
        LocalEngine().run(spec("status = 'pending'"))
    names = sorted(p.name for p in (tmp_path / ".out.checkpoints").iterdir())
    assert len(names) == 2 and all(n.startswith("stage-000-") for n in names)
