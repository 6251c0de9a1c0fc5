"""The example lineage DAGs on the real stack: the consumer scheduled on the producer's output asset runs after it."""

from __future__ import annotations

import time

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from support.stack import StackError

pytestmark = pytest.mark.stack

PRODUCER, CONSUMER = "enterprise_lineage_producer", "enterprise_lineage_consumer"


def test_the_asset_scheduled_consumer_runs_after_the_producer_on_its_output(airflow_stack, stack_registry) -> None:
    airflow_stack.wait_for_dag(CONSUMER)
    airflow_stack.wait_for_dag(PRODUCER)
    run_id = airflow_stack.trigger(PRODUCER)
    assert airflow_stack.wait_for_run(PRODUCER, run_id) == "success"
    produced = stack_registry.find_job(JobKey(PRODUCER, run_id, "category_totals"))["attempts"][0]

    deadline = time.monotonic() + 120
    consumer_runs: list[dict] = []
    while not consumer_runs and time.monotonic() < deadline:
        runs = airflow_stack.client.get(f"/api/v2/dags/{CONSUMER}/dagRuns").json()["dag_runs"]
        consumer_runs = [r for r in runs if r["run_type"] == "asset_triggered"]
        time.sleep(1)
    if not consumer_runs:
        raise StackError(f"{CONSUMER} has no asset-triggered run 120 s after {PRODUCER}\n{airflow_stack.logs_tail()}")
    (consumer_run,) = consumer_runs
    assert airflow_stack.wait_for_run(CONSUMER, consumer_run["dag_run_id"]) == "success"

    (event,) = airflow_stack.client.get("/api/v2/assets/events", params={"source_dag_id": PRODUCER}).json()[
        "asset_events"
    ]
    assert event["source_run_id"] == run_id
    assert (event["extra"]["output_path"], event["extra"]["rows_out"]) == (
        produced["output_path"],
        produced["rows_out"],
    )
    consumed = stack_registry.find_job(JobKey(CONSUMER, consumer_run["dag_run_id"], "top_categories"))
    (attempt,) = consumed["attempts"]
    # the consumer read the directory the event named (rendered from triggering_asset_events)
    assert attempt["spec"]["input_path"] == produced["output_path"]
    assert attempt["status"] == "succeeded" and 0 < attempt["rows_out"] <= 10
