"""The generic job DAG of airflow-provider-enterprise: trigger it with a job spec as the run's params."""

from airflow_provider_enterprise.operators.job_dag import build_job_dag

dag = build_job_dag()
