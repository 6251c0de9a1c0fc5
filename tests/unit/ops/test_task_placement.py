"""
The cluster policy that sends job tasks to their engine's queue and pool, run as the dag-processor runs it:
a DagBag parsing a DAG file, with the policy loaded from the provider's ``airflow.policy`` entry point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DAG_FILE = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator

LOGIC = {"transformations": [{"type": "filter", "condition": "status = 'active'"}]}
JOB = dict(job_name="j", input_path="/in.csv", processing_logic=LOGIC)
with DAG("placement", schedule=None):
    EnterpriseDataProcessingOperator(task_id="local", output_path="/o1", **JOB)
    EnterpriseDataProcessingOperator(task_id="spark", output_path="/o2", execution_engine="spark", **JOB)
    EnterpriseDataProcessingOperator(task_id="auto", output_path="/o3", execution_engine="auto", **JOB)
    EnterpriseDataProcessingOperator(task_id="chosen", output_path="/o4", queue="gpu", pool="mine", **JOB)
    EnterpriseDataProcessingOperator.partial(task_id="mapped_spark", execution_engine="spark", **JOB).expand(
        output_path=["/m1", "/m2"]
    )
    EnterpriseDataProcessingOperator.partial(task_id="mapped_engine", output_path="/m", **JOB).expand(
        execution_engine=["spark", "local"]
    )
    EnterpriseSparkSubmitOperator(task_id="application", application="/app.jar")
    EmptyOperator(task_id="other")
"""


def parse(tmp_path: Path):
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "placement.py").write_text(DAG_FILE)
    bag = DagBag(dag_folder=str(tmp_path))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["placement"]
    return {t.task_id: (t.queue, t.pool) for t in dag.tasks}


def test_job_tasks_take_their_engines_queue_and_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "LOCAL_QUEUE": "enterprise_local",
        "LOCAL_POOL": "enterprise_local",
        "SPARK_QUEUE": "enterprise_spark",
        "SPARK_POOL": "enterprise_spark",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__ENTERPRISE__{name}", value)
    local, spark = ("enterprise_local",) * 2, ("enterprise_spark",) * 2
    assert parse(tmp_path) == {
        "local": local,
        "spark": spark,
        "auto": local,  # auto may run the job in the worker: it needs a worker with the local engine's memory
        "chosen": ("gpu", "mine"),  # what the DAG sets wins
        "mapped_spark": spark,
        "mapped_engine": local,  # the engine is known only per mapped instance
        "application": spark,
        "other": ("default", "default_pool"),
    }


def test_without_settings_tasks_keep_airflows_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__SPARK_QUEUE", "enterprise_spark")  # only the Spark queue is set
    placed = parse(tmp_path)
    assert placed["spark"] == placed["application"] == ("enterprise_spark", "default_pool")
    assert placed["local"] == placed["auto"] == ("default", "default_pool")
