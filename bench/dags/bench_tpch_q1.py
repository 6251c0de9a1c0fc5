"""
TPC-H Q1 as one Airflow task, for the benchmark's task time (``bench/tpch_q1.py --task-time``).

An empty ``warm_up`` task runs first: ``airflow dags test`` stamps the first task's start before it starts its
in-process Execution API (about 3 s no deployment pays), so the timed task is the second. ``bench_tpch_q1_idle``
runs an empty task in its place, for the peak RSS of a process that runs a task and no job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
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
    EmptyOperator(task_id="warm_up") >> EnterpriseDataProcessingOperator(
        task_id="q1",
        job_name="bench_tpch_q1",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        processing_logic=Q1_LOGIC,
        execution_engine="local",
        retries=0,
    )

# The same kind of process running an empty task: the baseline of the Q1 task's peak RSS.
with DAG("bench_tpch_q1_idle", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    EmptyOperator(task_id="warm_up") >> EmptyOperator(task_id="idle")
