"""Wait in the triggerer for a registry job to reach a state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.triggers.registry import RegistryEvent, RegistryPollingTrigger


@dataclass(frozen=True)
class JobEvent(RegistryEvent):
    """How a wait for a job ended: ``reached`` a target state, ``failed`` (a failure state) or ``timeout``."""

    status: Literal["reached", "failed", "timeout"]


@dataclass(kw_only=True, eq=False, repr=False)
class EnterpriseJobTrigger(RegistryPollingTrigger):
    """
    Poll the job registry until a job is in one of ``target_states`` or ``failure_states``.

    :param job_key: the job, as ``[dag_id, run_id, task_id, map_index]``.
    :param target_states: states that end the wait successfully (event status ``reached``).
    :param failure_states: states that end the wait with a failure (event status ``failed``).
    """

    event_class: ClassVar[type[RegistryEvent]] = JobEvent

    job_key: list[Any]
    target_states: list[str]
    failure_states: list[str]

    async def poll(self) -> JobEvent | None:
        self.state = state = await self.hook.ajob_state(JobKey(*self.job_key))
        if state in self.target_states:
            return JobEvent(status="reached", state=state)
        if state in self.failure_states:
            return JobEvent(status="failed", state=state)
        return None
