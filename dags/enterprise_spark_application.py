"""
Example: a custom Spark application (``spark_jobs/revenue_by_category.py``) as a registered job.

Runs in client mode on the ``spark_default`` connection, or on ``engines.spark.master`` (``local[*]`` by
default) when that connection does not exist. For a JVM application on a standalone cluster, or any
application on Kubernetes or YARN, set ``deploy_mode="cluster"`` and ``deferrable=True``: the triggerer
then waits for the driver and the task holds no worker slot (see docs/engines.md).
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_enterprise.dev.sample_data import example_output_root
from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator

HERE = Path(__file__).resolve().parent
APPLICATION = HERE.parent / "spark_jobs" / "revenue_by_category.py"
OUTPUT_ROOT = example_output_root()

with DAG(
    dag_id="enterprise_spark_application",
    description="Revenue per category and country, computed by a custom PySpark application.",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["enterprise", "example", "spark"],
    params={
        "application": Param(str(APPLICATION), type="string", description="The PySpark file or JAR to run."),
        "input_path": Param(str(HERE / "data" / "transactions.csv"), type="string"),
        "output_root": Param(OUTPUT_ROOT, type="string", description="Directory for the outputs."),
        "min_amount": Param("0", type="string", description="Ignore transactions below this amount."),
    },
) as dag:
    EnterpriseSparkSubmitOperator(
        task_id="revenue_by_category",
        application="{{ params.application }}",
        application_args=[
            "--input",
            "{{ params.input_path }}",
            "--output",
            "{{ params.output_root }}/revenue_by_category/{{ dag_run.run_after | ds }}",
            "--min-amount",
            "{{ params.min_amount }}",
        ],
        conf={"spark.sql.shuffle.partitions": "4"},
        spark_resources={"driver_memory": "1g"},
        retry_policy_name="network_error",
        timeout=1800,
    )
