"""Wait for a job of the registry to reach a state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.sensors.base import RegistrySensor
from airflow_provider_enterprise.triggers.job import EnterpriseJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

JOB_STATES = ("registered", "running", "succeeded", "failed", "dead_lettered")


class EnterpriseJobSensor(RegistrySensor):
    """
    Wait until the job of a task instance reaches one of ``target_states``.

    A job is ``dead_lettered`` while it has an unresolved dead letter.

    :param dag_id: the job's DAG. (templated)
    :param run_id: the job's DAG run. (templated)
    :param task_id_to_watch: the job's task. (templated)
    :param map_index: the job's map index.
    :param target_states: states that satisfy the sensor (default ``["succeeded"]``).
    :param failure_states: states that fail it at once (default ``["dead_lettered"]``).
    """

    trigger_class = EnterpriseJobTrigger
    template_fields: Sequence[str] = ("dag_id_to_watch", "run_id", "task_id_to_watch")

    def __init__(
        self,
        *,
        dag_id: str,
        run_id: str,
        task_id_to_watch: str,
        map_index: int = -1,
        target_states: Sequence[str] = ("succeeded",),
        failure_states: Sequence[str] = ("dead_lettered",),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        unknown = sorted((set(target_states) | set(failure_states)) - set(JOB_STATES))
        if unknown:
            raise ValueError(f"unknown job states {unknown}; known: {', '.join(JOB_STATES)}")
        if set(target_states) & set(failure_states):
            raise ValueError("target_states and failure_states overlap")
        self.dag_id_to_watch = dag_id
        self.run_id = run_id
        self.task_id_to_watch = task_id_to_watch
        self.map_index = map_index
        self.target_states = list(target_states)
        self.failure_states = list(failure_states)
        self._start_from_trigger()

    @property
    def job_key(self) -> JobKey:
        return JobKey(self.dag_id_to_watch, self.run_id, self.task_id_to_watch, self.map_index)

    def describe(self) -> str:
        return f"job {self.job_key}"

    def poke(self, context: Context) -> bool:
        state = self.hook.job_state(self.job_key)
        self.log.info("Job %s is %s", self.job_key, state or "not registered")
        if state in self.failure_states:
            raise AirflowException(f"job {self.job_key} is {state}")
        return state in self.target_states

    def trigger(self, **common: Any) -> EnterpriseJobTrigger:
        return EnterpriseJobTrigger(
            job_key=list(vars(self.job_key).values()),
            target_states=self.target_states,
            failure_states=self.failure_states,
            **common,
        )
