"""Wait in the triggerer for a registry job to reach a state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey


class EnterpriseJobTrigger(BaseTrigger):
    """
    Poll the job registry until a job is in one of ``target_states`` or ``failure_states``.

    The trigger enforces ``timeout`` itself (Airflow's deferral timeout calls no cleanup) and reports it.

    :param job_key: the job, as ``[dag_id, run_id, task_id, map_index]``.
    :param target_states: states that end the wait successfully.
    :param failure_states: states that end the wait with a failure.
    :param deadline: epoch seconds after which the trigger reports a timeout; None waits forever.
    :param poll_interval: seconds between polls.
    :param metadata_conn_id: connection of the registry database.
    """

    def __init__(
        self,
        *,
        job_key: list[Any],
        target_states: list[str],
        failure_states: list[str],
        deadline: float | None,
        poll_interval: float = 5.0,
        metadata_conn_id: str | None = None,
    ) -> None:
        super().__init__()
        self.job_key = list(job_key)
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.metadata_conn_id = metadata_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_key": self.job_key,
                "target_states": self.target_states,
                "failure_states": self.failure_states,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "metadata_conn_id": self.metadata_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = EnterpriseMetadataHook(self.metadata_conn_id)
        key = JobKey(*self.job_key)
        state = None
        while True:
            state = await hook.ajob_state(key)
            if state in self.target_states:
                yield TriggerEvent({"status": "reached", "state": state})
                return
            if state in self.failure_states:
                yield TriggerEvent({"status": "failed", "state": state})
                return
            if self.deadline is not None and time.time() >= self.deadline:
                yield TriggerEvent({"status": "timeout", "state": state})
                return
            await asyncio.sleep(self.poll_interval)
