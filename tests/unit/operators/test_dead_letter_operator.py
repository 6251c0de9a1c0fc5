"""
Tests for operators/dead_letter.py at parse time: what the replay operator is built with. Replaying a dead letter
from the registry: tests/integration/resilience/test_dead_letter.py.
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from airflow_provider_enterprise.operators.dead_letter import DeadLetterReplayOperator


def test_the_dead_letter_is_templated_beside_the_trigger_operators_fields() -> None:
    operator = DeadLetterReplayOperator(task_id="replay", dead_letter_id="{{ params.dead_letter_id }}")
    assert "dead_letter_id" in operator.template_fields
    assert set(TriggerDagRunOperator.template_fields) <= set(operator.template_fields)
    assert operator.dead_letter_id == "{{ params.dead_letter_id }}"


def test_a_replay_run_has_no_logical_date_and_is_made_once() -> None:
    operator = DeadLetterReplayOperator(task_id="replay", dead_letter_id=7, metadata_conn_id="registry")
    assert operator.logical_date is None  # templates are not rendered again for another date
    assert operator.skip_when_already_exists is True  # a second replay of the same letter is skipped
    assert operator.metadata_conn_id == "registry"
    # the DAG is the dead letter's, known only when the task runs
    assert operator.trigger_dag_id == "resolved-from-the-dead-letter"
