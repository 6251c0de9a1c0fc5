"""
The queue-fed job DAG of airflow-provider-enterprise: each job message on the Redis stream ``enterprise-jobs``
(its ``job`` field, the JSON of a submission) becomes one run of the generic job DAG ``enterprise_job``.

Set the connection ``redis_default`` (or pass ``redis_conn_id``) and unpause the DAG: its watcher starts then.
"""

from airflow_provider_enterprise.events.dag import build_event_job_dag

dag = build_event_job_dag("enterprise-jobs")
