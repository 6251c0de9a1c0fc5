"""
A DAG whose job holds secrets in every way a job can (``dag.test()`` needs it in the DAGs folder): sensitive
``job_data`` keys, a connection password rendered into the spec, and a masking key that a failing filter
expression quotes. ``tests/integration/test_secrets_in_clear.py`` looks for them wherever the provider stores or
shows anything.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

#: Secrets written in the DAG (job_data); the test knows them too. The connection password and the masking key come
#: from connections the test sets; the key reaches both filters through the run's conf (Spark SQL strings, which
#: sqlglot re-quotes for DuckDB), and the failing one is refused when validated after rendering.
JOB_DATA = {
    "owner": "data-team",
    "password": "Job-data-password-4711",
    "api_token": "job-data-api-token-0815",
    "service": {"accounts": [{"credential": "nested-credential-2a9f"}], "signing_key": "nested-signing-key-77c1"},
    "warehouse_url": "postgresql://etl:{{ conn.secret_probe_db.password }}@warehouse/analytics",
}
HASH_EMAIL = {"type": "mask", "columns": {"email": "hash"}}


def _job(task_id: str, transformations: list[dict]) -> EnterpriseDataProcessingOperator:
    return EnterpriseDataProcessingOperator(
        task_id=task_id,
        job_name=f"secrets_{task_id}",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}/" + task_id,
        processing_logic={"transformations": transformations},
        job_data=JOB_DATA,
        execution_engine="local",
    )


with DAG(
    "test_secrets",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"input_path": "", "output_path": "", "who": "", "condition": "true"},
    default_args={"retries": 0},
) as secrets:
    _job("succeeds", [{"type": "filter", "condition": 'name <> "{{ params.who }}"'}, HASH_EMAIL])
    _job("fails", [{"type": "filter", "condition": "{{ params.condition }}"}, HASH_EMAIL])
