"""
Start runs of a DAG from inside a running task, as many as it needs.

``TriggerDagRunOperator`` starts one run per task: a burst of a thousand job messages would be a thousand task
processes before the first job runs (each several seconds of CPU on a small worker, competing with the jobs for
the executor's slots). A task can ask its supervisor for any number of runs through the Task SDK's
``TriggerDagRun`` request, the one that operator's task runner sends: the Execution API creates each run in one
call, without a process of its own.
"""

from __future__ import annotations

from typing import Any


def trigger_run(dag_id: str, run_id: str, conf: dict[str, Any]) -> bool:
    """
    Start the run ``run_id`` of ``dag_id`` with ``conf`` (no logical date), from the task running now.

    :return: True if the run was created, False if it exists already (started before: exactly once).
    :raises airflow.sdk.exceptions.AirflowRuntimeError: the API server refused the run or failed.
    """
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse, TriggerDagRun
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    response = SUPERVISOR_COMMS.send(TriggerDagRun(dag_id=dag_id, run_id=run_id, conf=conf, logical_date=None))
    if isinstance(response, ErrorResponse):
        if response.error == ErrorType.DAGRUN_ALREADY_EXISTS:
            return False
        raise RuntimeError(f"starting run {run_id!r} of DAG {dag_id!r} failed: {response.error.value}")
    return True
