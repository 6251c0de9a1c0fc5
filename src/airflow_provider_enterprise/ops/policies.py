"""
Airflow cluster policies of the provider (entry point group ``airflow.policy``).

- A job operator's task goes to its engine's executor queue and pool (``engines.local.queue``/``pool``,
  ``engines.spark.queue``/``pool``) unless the DAG chose them: the dag-processor applies this when it parses
  the DAG, so Celery workers can be split by engine without touching any DAG.
- A job submitted without a DAG (the generic job DAG) names its priority in the run's conf; the scheduler
  gives its task the matching ``priority_weight`` when it creates the task instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.policies import hookimpl

from airflow_provider_enterprise.spec.models import PRIORITY_WEIGHTS, Priority

if TYPE_CHECKING:
    from airflow_provider_enterprise.operators.base import EnterpriseJobOperator


def _enable_task_instance_mutation_hook() -> None:
    """
    Make the scheduler call the hook when it creates task instances.

    Airflow 3.3 skips the mutation hook at creation while ``airflow.settings.task_instance_mutation_hook.is_noop``
    is set, and clears that flag only when an ``airflow_local_settings`` module defines a hook, not for hooks of
    ``airflow.policy`` entry points such as this one. Airflow imports this module while loading those.
    """
    from airflow import settings

    # a function that Airflow marks with an attribute, which its type does not declare
    settings.task_instance_mutation_hook.is_noop = False  # type: ignore[attr-defined]


_enable_task_instance_mutation_hook()


def _job_operator_class(task: Any) -> type[EnterpriseJobOperator] | None:
    """The task's operator class if it is one of the provider's job operators (mapped or not)."""
    from airflow_provider_enterprise.operators.base import EnterpriseJobOperator

    cls = getattr(task, "operator_class", type(task))  # a MappedOperator names the class it maps
    return cls if isinstance(cls, type) and issubclass(cls, EnterpriseJobOperator) else None


@hookimpl
def task_policy(task: Any) -> None:
    """Give a job operator's task its engine's queue and pool, where the settings name them and the DAG did not."""
    cls = _job_operator_class(task)
    if cls is None:
        return
    # imported here: every Airflow process loads this module, only the dag-processor parses tasks
    from airflow.sdk.bases.operator import BaseOperator

    from airflow_provider_enterprise.config import load_settings

    partial = getattr(task, "partial_kwargs", None)
    engine = (partial or {}).get("execution_engine") if partial is not None else getattr(task, "execution_engine", None)
    placement = getattr(load_settings().engines, cls.placement_engine(engine))
    if placement.queue and task.queue == BaseOperator.queue:
        task.queue = placement.queue
    if placement.pool and task.pool == BaseOperator.pool:
        task.pool = placement.pool


@hookimpl
def task_instance_mutation_hook(task_instance: Any, dag_run: Any) -> None:
    """Set a submitted job's ``priority_weight`` from the ``priority`` of its run's conf."""
    # the scheduler holds the serialized task, not its class: the task instance names its operator's class
    from airflow_provider_enterprise.operators.submitted_job import EnterpriseSubmittedJobOperator

    if task_instance.operator != EnterpriseSubmittedJobOperator.__name__ or dag_run is None:
        return
    priority = (dag_run.conf or {}).get("priority")
    if priority in {p.value for p in Priority}:
        task_instance.priority_weight = PRIORITY_WEIGHTS[Priority(priority)]
