"""
DAGs of the scale-out tests: processing jobs on the CeleryExecutor, spread over the stack's Celery workers.

``stack_scale_out`` maps one job over 16 outputs; ``stack_scale_out_breaker`` overruns its timeout five times on
the worker serving queue ``worker-a`` (opening the breaker ``storage:scale-out``), then asks the breaker from the
worker serving ``worker-b``; ``stack_scale_out_spark`` (never run) shows where a Spark job would be queued.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

SCALE_OUT_JOBS = 16
BREAKER = "storage:scale-out"
PARAMS = {
    "input_path": Param("", type="string", description="a Parquet input"),
    "output_root": Param("", type="string", description="directory of the outputs"),
}
TOTALS = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active'"},
        {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)", "n": "count(*)"}},
    ]
}
ON_CELERY = {"executor": "CeleryExecutor", "retry_delay": timedelta(seconds=1)}

with DAG("stack_scale_out", schedule=None, params=PARAMS, max_active_tasks=16, tags=["stack-test"]):
    EnterpriseDataProcessingOperator.partial(
        task_id="process",
        job_name="scale_out",
        input_path="{{ params.input_path }}",
        processing_logic=TOTALS,
        retries=2,
        **ON_CELERY,
    ).expand(output_path=[f"{{{{ params.output_root }}}}/job_{i:02d}" for i in range(SCALE_OUT_JOBS)])

with DAG("stack_scale_out_breaker", schedule=None, params=PARAMS, tags=["stack-test"]):
    overruns = EnterpriseDataProcessingOperator.partial(
        task_id="overrun",
        job_name="scale_out_overrun",
        input_path="{{ params.input_path }}",
        processing_logic={"transformations": [{"type": "sort", "by": ["amount", "transaction_id"]}]},
        timeout=0.1,  # a transient failure (JobTimeoutError): each one counts against the breaker
        circuit_breaker=BREAKER,
        queue="worker-a",
        retries=0,
        **ON_CELERY,
    ).expand(output_path=[f"{{{{ params.output_root }}}}/overrun_{i}" for i in range(5)])
    refused = EnterpriseDataProcessingOperator(
        task_id="refused",
        job_name="scale_out_refused",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_root }}/refused",
        processing_logic=TOTALS,
        circuit_breaker=BREAKER,
        queue="worker-b",
        retries=0,
        trigger_rule="all_done",
        **ON_CELERY,
    )
    overruns >> refused

with DAG("stack_scale_out_spark", schedule=None, tags=["stack-test"]):
    EnterpriseDataProcessingOperator(
        task_id="spark_job",
        job_name="scale_out_spark",
        input_path="/data/in.parquet",
        output_path="/data/out",
        processing_logic=TOTALS,
        execution_engine="spark",
        executor="CeleryExecutor",
    )
