"""Replay a dead letter from a DAG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

if TYPE_CHECKING:
    from airflow.sdk import Context


class DeadLetterReplayOperator(TriggerDagRunOperator):
    """
    Trigger a new run of a dead letter's DAG that reruns its task with the recorded rendered spec.

    The run id is derived from the dead letter, so replaying twice creates one run (the second task is
    skipped). The run has no logical date; templates are not rendered again for another date.

    :param dead_letter_id: the dead letter to replay. (templated)
    :param metadata_conn_id: connection of the registry database.
    """

    template_fields: Sequence[str] = (*TriggerDagRunOperator.template_fields, "dead_letter_id")

    def __init__(self, *, dead_letter_id: int | str, metadata_conn_id: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_dag_id", "resolved-from-the-dead-letter")
        super().__init__(logical_date=None, skip_when_already_exists=True, **kwargs)
        self.dead_letter_id = dead_letter_id
        self.metadata_conn_id = metadata_conn_id

    def execute(self, context: Context) -> Any:
        queue = DeadLetterQueue(EnterpriseMetadataHook(self.metadata_conn_id))
        letter, run_id, conf, replayed_before = queue.prepare_replay(int(self.dead_letter_id))
        self.trigger_dag_id = letter["dag_id"]
        self.trigger_run_id = run_id
        if replayed_before:
            # A racing replay may not have created the run yet: this one may, with the same conf.
            self.log.info("Dead letter %s was replayed before as %s", self.dead_letter_id, run_id)
        else:
            queue.mark_replayed(letter, run_id)
        self.conf = conf
        self.log.info("Replaying dead letter %s as run %s of %s", self.dead_letter_id, run_id, letter["dag_id"])
        return super().execute(context)
