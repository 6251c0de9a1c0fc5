"""
Example: daily processing of transactions on the local (DuckDB) engine, with data-quality checks.

The README's main job runs this DAG on the bundled sample data. Paths use ``{{ dag_run.run_after | ds }}``
rather than ``{{ ds }}``: in Airflow 3 ``ds`` exists only when the run has a logical date, and runs
triggered from the REST API or ``airflow dags trigger`` without ``-l`` have none. The ``params`` make the
Airflow UI's trigger form: input, output directory and engine.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_enterprise.dev.sample_data import example_output_root
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

SAMPLE_INPUT = Path(__file__).parent / "data" / "transactions.csv"
OUTPUT_ROOT = example_output_root()

with DAG(
    dag_id="enterprise_daily_processing",
    description="Filter active transactions, aggregate them per category and country, rank the totals.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["enterprise", "example"],
    params={
        "input_path": Param(str(SAMPLE_INPUT), type="string", description="CSV or Parquet input."),
        "output_root": Param(OUTPUT_ROOT, type="string", description="Directory for the daily outputs."),
        "engine": Param(
            "local",
            enum=["local", "spark", "auto"],
            description="local (DuckDB), spark, or auto (routed by input size and Spark's health).",
        ),
    },
) as dag:
    EnterpriseDataProcessingOperator(
        task_id="process_daily_data",
        job_name="daily_processing",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_root }}/daily_processing/{{ dag_run.run_after | ds }}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "status = 'active' AND amount > 0"},
                {
                    "type": "groupby",
                    "columns": ["category", "country"],
                    "aggregations": {
                        "total_amount": "sum(amount)",
                        "transactions": "count(*)",
                        "customers": "count(distinct customer_id)",
                        "amount": "max",
                    },
                    "having": "transactions >= 5",
                },
                {"type": "sort", "by": ["total_amount"], "descending": True},
            ],
            # checked before the output is committed: a failed check withholds it, unless its severity is warn
            "checks": [
                {"type": "unique", "columns": ["category", "country"]},
                {"type": "range", "column": "total_amount", "min": 0},
                # a day whose output differs by more than half from the last run warns (it still publishes)
                {"type": "row_count", "min": 1, "max_change_pct": 50, "severity": "warn"},
                {"type": "schema", "columns": {"total_amount": "double", "transactions": "bigint"}, "mode": "evolve"},
                {
                    "type": "accepted_values",
                    "column": "status",
                    "values": ["active", "cancelled", "pending"],
                    "input": "input",
                },
                # the sample has amounts above 400: this check warns in the task log
                {"type": "range", "column": "amount", "max": 400, "input": "input", "severity": "warn"},
            ],
        },
        execution_engine="{{ params.engine }}",
        timeout=3600,
    )
