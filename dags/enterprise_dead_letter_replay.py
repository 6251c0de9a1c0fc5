"""
Replay a dead letter from the Airflow UI: trigger this DAG with the dead letter's id.

The replay reruns the failed task in a new run of its DAG with the rendered spec recorded on the dead letter.
Triggering it twice for the same dead letter creates one replay run. The CLI (`enterprise-orchestrator dlq
replay`) does the same through the REST API.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.dead_letter import DeadLetterReplayOperator

with DAG(
    dag_id="enterprise_dead_letter_replay",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["enterprise", "maintenance"],
    params={"dead_letter_id": Param(type="integer", minimum=1, description="The dead letter to replay.")},
):
    DeadLetterReplayOperator(task_id="replay", dead_letter_id="{{ params.dead_letter_id }}")
