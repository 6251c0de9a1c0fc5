"""
The example custom application (``spark_jobs/``) run by its example DAG through ``airflow dags test``: client
mode on ``local[*]``, registered as a job, and its output equal to the same query on DuckDB; with Airflow's
``[openlineage] spark_inject_parent_job_info``, spark-submit passes the task's OpenLineage run as the application's
parent.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from support.env import EXAMPLE_DAGS, airflow_on_examples

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


def test_example_dag_runs_the_custom_application(airflow_db: str, registry, registry_url: str, tmp_path) -> None:
    # without a spark_default connection (the session may define one) the master is engines.spark.master: local[*]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AIRFLOW_CONN_SPARK_DEFAULT", raising=False)
        conf = '{"min_amount": "10"}'
        events = tmp_path / "openlineage.jsonl"
        output = airflow_on_examples(
            registry_url,
            tmp_path,
            "dags",
            "test",
            "enterprise_spark_application",
            "-c",
            conf,
            SPARK_LOCAL_IP="127.0.0.1",
            AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
            AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO="true",
        )
    (job,) = registry.list_jobs(dag_id="enterprise_spark_application")
    (attempt,) = registry.get_job(job["job_id"])["attempts"]
    assert (attempt["status"], attempt["engine"]) == ("succeeded", "spark")
    assert attempt["external_id"].startswith(f"enterprise-{job['job_id']}-1-")
    assert attempt["spec"]["application_args"][-2:] == ["--min-amount", "10"]
    (complete,) = [
        e
        for e in map(json.loads, events.read_text().splitlines())
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "enterprise_spark_application.revenue_by_category"
    ]
    assert f"spark.openlineage.parentRunId={complete['run']['runId']}" in output  # spark-submit's logged command
    assert complete["run"]["facets"]["externalQuery"]["externalQueryId"] == attempt["external_id"]
    assert "spark.openlineage.parent" not in json.dumps(attempt["spec"])  # not recorded on the attempt

    (output,) = (tmp_path / "revenue_by_category").iterdir()
    got = duckdb.sql(
        f"SELECT category, country, revenue, transactions, customers FROM read_parquet('{output}/*.parquet')"
        " ORDER BY ALL"
    ).fetchall()
    expected = duckdb.sql(
        "SELECT category, country, round(sum(amount), 2), count(*), count(DISTINCT customer_id)"
        f" FROM read_csv('{SAMPLE}') WHERE status = 'active' AND amount > 10 GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert got == expected and len(got) > 5
