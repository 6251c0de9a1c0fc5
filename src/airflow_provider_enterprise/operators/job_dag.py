"""
The generic job DAG: a job run from its spec, with no DAG of its own to write.

Its ``params`` are the fields of a submission (:mod:`airflow_provider_enterprise.spec.submission`), so the
Airflow UI's trigger form shows and validates them, and ``enterprise-orchestrator jobs submit``, the Python
client and the REST API start it with the spec as the run's conf. ``dags/enterprise_job.py`` builds it;
``enterprise-orchestrator dags install DIR`` writes that file into a deployment's DAGs folder. Each committed
output is an asset event, added through the task's asset alias ``enterprise-submitted-job-outputs``: a DAG
scheduled on the output's asset (``Asset("s3://lake/sales/daily")``) runs after the job that writes it.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.submitted_job import EnterpriseSubmittedJobOperator
from airflow_provider_enterprise.spec.submission import (
    JOB_DAG_ID,
    JOB_TASK_ID,
    REQUIRED_FIELDS,
    submission_defaults,
    submission_schema,
)

__all__ = ["DAG_FILE", "JOB_DAG_ID", "JOB_TASK_ID", "build_job_dag"]

#: The DAG file ``dags install`` writes (Airflow parses files that mention "airflow" and "dag").
DAG_FILE = '''"""The generic job DAG of airflow-provider-enterprise: trigger it with a job spec as the run's params."""

from airflow_provider_enterprise.operators.job_dag import build_job_dag

dag = build_job_dag()
'''


def build_job_dag(dag_id: str = JOB_DAG_ID, **dag_kwargs: Any) -> DAG:
    """Return the generic job DAG; ``dag_kwargs`` (tags, retry settings in ``default_args``, ...) are the DAG's."""
    defaults = submission_defaults()
    params = {}
    for name, schema in submission_schema().items():
        if name in REQUIRED_FIELDS:
            params[name] = Param(**schema)  # no default: the form and the REST API require it
        else:
            params[name] = Param(defaults[name], **schema)
    dag_kwargs.setdefault("tags", ["enterprise", "submitted-jobs"])
    with DAG(
        dag_id=dag_id,
        description="Run a job from its spec, the run's params (jobs submit, the Python client, the trigger form).",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=16,
        is_paused_upon_creation=False,  # it runs only what is submitted to it
        params=params,
        doc_md=__doc__,
        **dag_kwargs,
    ) as dag:
        EnterpriseSubmittedJobOperator(task_id=JOB_TASK_ID)
    return dag
