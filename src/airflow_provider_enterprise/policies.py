"""
Airflow cluster policies of the provider (entry point group ``airflow.policy``).

A job submitted without a DAG (the generic job DAG) names its priority in the run's conf; the scheduler
gives its task the matching ``priority_weight`` when it creates the task instance.
"""

from __future__ import annotations

from typing import Any

from airflow.policies import hookimpl

from airflow_provider_enterprise.spec.models import PRIORITY_WEIGHTS, Priority

#: Operators whose priority comes from the run's conf.
SUBMITTED_JOB_OPERATORS = {"EnterpriseSubmittedJobOperator"}


def _enable_task_instance_mutation_hook() -> None:
    """
    Make the scheduler call the hook when it creates task instances.

    Airflow 3.3 skips the mutation hook at creation while ``airflow.settings.task_instance_mutation_hook.is_noop``
    is set, and clears that flag only when an ``airflow_local_settings`` module defines a hook, not for hooks of
    ``airflow.policy`` entry points such as this one. Airflow imports this module while loading those.
    """
    from airflow import settings

    settings.task_instance_mutation_hook.is_noop = False


_enable_task_instance_mutation_hook()


@hookimpl
def task_instance_mutation_hook(task_instance: Any, dag_run: Any) -> None:
    """Set a submitted job's ``priority_weight`` from the ``priority`` of its run's conf."""
    if task_instance.operator not in SUBMITTED_JOB_OPERATORS or dag_run is None:
        return
    priority = (dag_run.conf or {}).get("priority")
    if priority in {p.value for p in Priority}:
        task_instance.priority_weight = PRIORITY_WEIGHTS[Priority(priority)]
