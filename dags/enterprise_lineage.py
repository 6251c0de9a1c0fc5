"""
Example: lineage and assets. A producer job whose output is an Airflow asset, and a consumer DAG scheduled on it.

``enterprise_lineage_producer`` turns the sample transactions into category totals: a filter, a derived column
and a group-by. With the OpenLineage provider installed (the ``lineage`` extra) and a transport configured, its
task emits OpenLineage events whose datasets carry the schema of every input and of the output, the output's
column lineage (``total_eur`` is an AGGREGATION of ``amount`` through ``amount_eur``), its statistics and
the data-quality assertions of its checks (one of which warns on the sample data).

Its output path is templated by day, so its asset is the static directory before the template,
``file://<output root>/lineage/category_totals``; each run's asset event names the day's directory in its
extra (``output_path``, with ``rows_out``, ``bad_rows`` and the ``manifest``'s location). The consumer,
``enterprise_lineage_consumer``, is scheduled on that asset and reads the directory the triggering event names.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG

from airflow_provider_enterprise.dev.sample_data import example_output_root
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

SAMPLE_INPUT = Path(__file__).parent / "data" / "transactions.csv"
OUTPUT_ROOT = example_output_root()
SAMPLE_SCHEMA = {
    "transaction_id": "bigint",
    "event_time": "timestamp",
    "customer_id": "bigint",
    "category": "string",
    "status": "string",
    "amount": "double",
    "country": "string",
}
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(
    dag_id="enterprise_lineage_producer",
    description="Category totals in EUR; its output is the asset the consumer DAG is scheduled on.",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["enterprise", "example", "lineage"],
):
    category_totals = EnterpriseDataProcessingOperator(
        task_id="category_totals",
        job_name="category_totals",
        inputs={"transactions": {"path": str(SAMPLE_INPUT), "schema": SAMPLE_SCHEMA}},
        output_path=f"{OUTPUT_ROOT}/lineage/category_totals/{{{{ dag_run.run_after | ds }}}}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "status = 'active'"},
                {"type": "derive", "column": "amount_eur", "expression": "round(amount * 0.92, 2)"},
                {
                    "type": "groupby",
                    "columns": ["category", "country"],
                    "aggregations": {"total_eur": "sum(amount_eur)", "transactions": "count(*)"},
                },
            ],
            # data-quality checks: a failed "fail" check withholds the output (no asset event); their results
            # are the events' dataQualityAssertions and the asset event's "checks" summary
            "checks": [
                {"type": "not_null", "column": "category"},
                {"type": "row_count", "min": 1},
                {
                    "type": "accepted_values",
                    "column": "status",
                    "values": ["active", "cancelled", "pending"],
                    "input": "transactions",
                },
                # warns on the sample data (one total is above 40,000): published, and recorded as warned
                {
                    "type": "range",
                    "column": "total_eur",
                    "min": 0,
                    "max": 40000,
                    "severity": "warn",
                    "name": "total_eur_plausible",
                },
            ],
        },
        execution_engine="local",
    )

with DAG(
    dag_id="enterprise_lineage_consumer",
    description="Runs when the producer commits category totals: keeps the largest ones.",
    schedule=category_totals.outlets,  # the producer's output asset, file://<output root>/lineage/category_totals
    start_date=START,
    catchup=False,
    tags=["enterprise", "example", "lineage"],
):
    EnterpriseDataProcessingOperator(
        task_id="top_categories",
        job_name="top_categories",
        # the directory the latest triggering asset event committed
        input_path="{{ (triggering_asset_events.values() | first | last).extra.output_path }}",
        input_format="parquet",
        output_path=f"{OUTPUT_ROOT}/lineage/top_categories/{{{{ dag_run.run_after | ds }}}}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "transactions >= 10"},
                {"type": "sort", "by": ["total_eur"], "descending": True},
                {"type": "limit", "n": 10},
            ]
        },
        execution_engine="local",
    )
