"""CSV types are sniffed once, by DuckDB in the task, and declared for the Spark engine (the same types)."""

from __future__ import annotations

import duckdb
import pytest

from airflow_provider_enterprise.engines.duckdb_inputs import with_sniffed_schemas
from airflow_provider_enterprise.exceptions import InputHeaderError
from airflow_provider_enterprise.spec import validate_job_spec


def test_csv_inputs_without_a_schema_get_the_sniffed_types(tmp_path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("id,amount,day,vip\n1,10.5,2026-01-01,true\n2,3.25,2026-01-02,false\n")
    customers = tmp_path / "customers.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS id, 'a' AS name) TO '{customers}' (FORMAT parquet)")
    declared = tmp_path / "declared.csv"
    declared.write_text("id,amount\n1,2\n")
    spec = validate_job_spec(
        {
            "job_name": "sniff",
            "input_path": str(orders),
            "inputs": {
                "customers": str(customers),
                "declared": {"path": str(declared), "schema": {"id": "string", "amount": "string"}},
                "later": str(tmp_path / "not-yet.csv"),
            },
            "output_path": str(tmp_path / "out"),
        }
    )
    sniffed = with_sniffed_schemas(spec)
    assert sniffed.inputs["input"].column_types == {"id": "bigint", "amount": "double", "day": "date", "vip": "boolean"}
    assert sniffed.inputs["customers"].column_types is None  # Parquet carries its own types
    assert sniffed.inputs["declared"].column_types == {"id": "string", "amount": "string"}  # the user's win
    assert sniffed.inputs["later"].column_types is None  # not readable here: the engine reports it
    assert spec.inputs["input"].column_types is None  # the original is unchanged


def test_a_header_that_cannot_name_the_columns_fails_in_the_task_before_spark_is_asked(tmp_path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("id,amount,amount\n1,2,3\n")
    spec = validate_job_spec({"job_name": "sniff", "input_path": str(orders), "output_path": str(tmp_path / "out")})
    with pytest.raises(InputHeaderError, match="input 'input': header column 'amount' appears twice"):
        with_sniffed_schemas(spec)
