"""Wait in the triggerer for a registry job to reach a state."""

from __future__ import annotations

from typing import Any

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.triggers.base import RegistryPollingTrigger


class EnterpriseJobTrigger(RegistryPollingTrigger):
    """
    Poll the job registry until a job is in one of ``target_states`` or ``failure_states``.

    :param job_key: the job, as ``[dag_id, run_id, task_id, map_index]``.
    :param target_states: states that end the wait successfully (event status ``reached``).
    :param failure_states: states that end the wait with a failure (event status ``failed``).
    """

    def __init__(self, *, job_key: list[Any], target_states: list[str], failure_states: list[str], **kwargs: Any):
        super().__init__(
            job_key=list(job_key), target_states=list(target_states), failure_states=list(failure_states), **kwargs
        )
        self.job_key = list(job_key)
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)

    async def check(self, hook: EnterpriseMetadataHook) -> tuple[dict[str, Any] | None, str | None]:
        state = await hook.ajob_state(JobKey(*self.job_key))
        if state in self.target_states:
            return {"status": self.done_status, "state": state}, state
        if state in self.failure_states:
            return {"status": "failed", "state": state}, state
        return None, state
