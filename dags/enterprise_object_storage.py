"""
Example: a job that reads from and writes to an object store (S3 here; ``gs://`` and ``abfs://`` work alike).

The input and output are URIs; the credentials stay in the Airflow connection ``storage_conn_id`` names
(an ``aws`` connection, with ``endpoint_url`` in its extras for MinIO or another S3-compatible store). Workers
share nothing but the store and the registry: any worker can run any try. The output is published by a manifest
written last (``_manifest.json``): a reader that lists the files it names never sees a half-written output.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

with DAG(
    dag_id="enterprise_object_storage",
    description="Aggregate a day of transactions from the raw bucket into the curated bucket.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["enterprise", "example", "object-storage"],
    params={
        "input_path": Param("s3://raw-zone/transactions/*.csv", type="string", description="Objects to read."),
        "output_root": Param("s3://curated-zone/revenue", type="string", description="Prefix of the outputs."),
        "storage_conn_id": Param("aws_default", type="string", description="Airflow connection of the store."),
    },
) as dag:
    EnterpriseDataProcessingOperator(
        task_id="revenue_by_category",
        job_name="revenue_by_category",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_root }}/{{ dag_run.run_after | ds }}",
        storage_conn_id="{{ params.storage_conn_id }}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "status = 'active'"},
                {
                    "type": "groupby",
                    "columns": ["category"],
                    "aggregations": {"revenue": "sum(amount)", "transactions": "count(*)"},
                },
            ]
        },
        execution_engine="auto",  # the local engine unless a Spark with the store's connector is configured
        retry_policy_name="network_error",
    )
