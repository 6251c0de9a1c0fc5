"""
Tests for policies.py's task-instance hook: a submitted job's priority from its run's conf. The task policy
(queues and pools at parse time): tests/unit/ops/test_task_placement.py; through the scheduler:
tests/stack/test_job_submission.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_enterprise.operators.submitted_job import EnterpriseSubmittedJobOperator
from airflow_provider_enterprise.ops import policies


@pytest.mark.parametrize(("priority", "weight"), [("low", 1), ("normal", 5), ("critical", 50)])
def test_a_submitted_jobs_priority_sets_its_weight(priority: str, weight: int) -> None:
    ti = SimpleNamespace(operator=EnterpriseSubmittedJobOperator.__name__, priority_weight=1)
    policies.task_instance_mutation_hook(ti, SimpleNamespace(conf={"priority": priority}))
    assert ti.priority_weight == weight


@pytest.mark.parametrize(
    ("operator", "conf"),
    [
        ("EnterpriseSubmittedJobOperator", {"priority": "whenever"}),  # not a priority: left alone
        ("EnterpriseSubmittedJobOperator", None),
        ("EnterpriseDataProcessingOperator", {"priority": "critical"}),  # a DAG's job sets its own weight
    ],
)
def test_other_tasks_and_unknown_priorities_keep_their_weight(operator: str, conf: dict | None) -> None:
    ti = SimpleNamespace(operator=operator, priority_weight=3)
    policies.task_instance_mutation_hook(ti, SimpleNamespace(conf=conf))
    policies.task_instance_mutation_hook(ti, None)  # a task instance without a run
    assert ti.priority_weight == 3
