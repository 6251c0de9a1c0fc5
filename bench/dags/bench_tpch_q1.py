"""TPC-H Q1 as one Airflow task, for the benchmark's task time (``bench/tpch_q1.py --task-time``)."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
from airflow.sdk import DAG

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

Q1_LOGIC = json.loads((Path(__file__).parents[1] / "tpch_q1_logic.json").read_text())

with DAG(
    "bench_tpch_q1",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"input_path": "", "output_path": ""},
    catchup=False,
):
    EnterpriseDataProcessingOperator(
        task_id="q1",
        job_name="bench_tpch_q1",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        processing_logic=Q1_LOGIC,
        execution_engine="local",
        retries=0,
    )
