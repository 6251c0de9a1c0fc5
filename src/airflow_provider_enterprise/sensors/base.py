"""What the registry sensors share: poking through the hook, or deferring to a registry-polling trigger."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException
from airflow.triggers.base import StartTriggerArgs

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.triggers.registry import RegistryPollingTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class RegistrySensor(BaseSensorOperator):
    """
    A sensor over the job registry; with ``deferrable=True`` it waits in the triggerer, holding no worker slot.

    :param deferrable: wait in the triggerer.
    :param start_from_trigger: defer straight from the scheduler, without starting on a worker (with
        ``deferrable=True``; the awaited values must then be literal, and ``timeout`` becomes the trigger's
        timeout, which fails the task).
    :param end_from_trigger: end the task in the triggerer when the wait ends, without resuming it on a worker.
    :param metadata_conn_id: connection of the registry database.
    """

    #: The trigger that waits for the same condition as :meth:`poke`.
    trigger_class: ClassVar[type[RegistryPollingTrigger]]

    def __init__(
        self,
        *,
        deferrable: bool = False,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        metadata_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (start_from_trigger or end_from_trigger) and not deferrable:
            raise ValueError("start_from_trigger and end_from_trigger wait in the triggerer: set deferrable=True")
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger
        self.metadata_conn_id = metadata_conn_id
        self.start_from_trigger = start_from_trigger

    def _start_from_trigger(self) -> None:
        """
        Give the scheduler the trigger to defer to (``start_trigger_args``); subclasses call this once their own
        fields are set. The triggerer renders only fields the sensor and its trigger share, so templated values
        of the others are refused here.
        """
        if not self.start_from_trigger:
            return
        classpath, kwargs = self.trigger(**self._trigger_common(deadline=None)).serialize()
        rendered = set(self.template_fields) & set(kwargs)
        templated = sorted(f for f in self.template_fields if f not in rendered and "{{" in str(getattr(self, f)))
        if templated:
            raise ValueError(
                f"start_from_trigger=True needs literal {', '.join(templated)}: the triggerer does not render them"
            )
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=classpath,
            trigger_kwargs=kwargs,
            next_method="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def _trigger_common(self, deadline: float | None) -> dict[str, Any]:
        common: dict[str, Any] = {
            "deadline": deadline,
            "poll_interval": self.poke_interval,
            "metadata_conn_id": self.metadata_conn_id,
        }
        if self.end_from_trigger:
            common.update(end_from_trigger=True, soft_fail=self.soft_fail)
        return common

    @cached_property
    def hook(self) -> EnterpriseMetadataHook:
        return EnterpriseMetadataHook(self.metadata_conn_id)

    def describe(self) -> str:
        """Name what is awaited, for messages."""
        raise NotImplementedError

    def trigger(self, **common: Any) -> RegistryPollingTrigger:
        """Return the trigger that waits for the same condition as :meth:`poke`."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=self.trigger(**self._trigger_common(time.time() + self.timeout if self.timeout else None)),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        """Resume with the trigger's event (a :class:`~airflow_provider_enterprise.triggers.registry.RegistryEvent`)."""
        waited = self.trigger_class.event_class.from_payload(event)
        if waited.status == self.trigger_class.done_status:
            self.log.info("%s is %s", self.describe(), waited.state)
            return
        if waited.status == "timeout":
            message = f"{self.describe()} still {waited.state or 'unknown'} after {self.timeout} s"
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowException(message)
        raise AirflowException(f"{self.describe()} is {waited.state}")
