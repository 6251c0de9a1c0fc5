"""
Spark's errors by the error table, on a real local Spark: the generic application's driver reports a conversion,
an overflow, a corrupt Parquet file and a missing column as permanent, and the task rebuilds them as such.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.spark import _error_from
from airflow_provider_enterprise.exceptions import PermanentJobError
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error
from airflow_provider_enterprise.spark_app.job import run_job
from airflow_provider_enterprise.spark_app.main import parse_args, report_job
from airflow_provider_enterprise.spec import validate_job_spec
from support.env import CORRUPT_PARQUET, EXAMPLE_DAGS

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


def corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(CORRUPT_PARQUET)
    return path


@pytest.mark.parametrize(
    ("make_input", "condition", "spark_error"),
    [
        (lambda _: SAMPLE, "CAST(category AS DOUBLE) > 0", "NumberFormatException"),
        (lambda _: SAMPLE, "abs(CAST(customer_id AS INT) * 2147483647) > 0", "ArithmeticException"),
        (corrupt, "amount > 0", None),  # whatever Spark raises for it, with its SQLSTATE
    ],
    ids=["conversion", "overflow", "corrupt_parquet"],
)
def test_the_driver_reports_bad_data_as_permanent(spark, tmp_path: Path, make_input, condition, spark_error) -> None:
    data = {
        "job_name": "bad_data",
        "input_path": str(make_input(tmp_path)),
        "output_path": str(tmp_path / "out"),
        "processing_logic": {"transformations": [{"type": "filter", "condition": condition}]},
    }
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the error Spark raises is the subject
        run_job(spark, validate_job_spec(data), run_id="r")
    if spark_error:
        assert type(raised.value).__name__ == spark_error
    assert classify_error(raised.value) is ErrorKind.PERMANENT, repr(raised.value)

    (tmp_path / "spec.json").write_text(json.dumps(data))
    result_file = tmp_path / "result.json"
    args = parse_args(["--spec", str(tmp_path / "spec.json"), "--run-id", "r2", "--result", str(result_file)])
    assert report_job(spark, args) == 1
    result = json.loads(result_file.read_text())
    assert (result["status"], result["permanent"]) == ("failed", True)
    rebuilt = _error_from(result)  # what the task raises
    assert isinstance(rebuilt, PermanentJobError) and classify_error(rebuilt) is ErrorKind.PERMANENT
