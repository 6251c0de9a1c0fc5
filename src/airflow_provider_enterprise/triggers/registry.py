"""What the triggers that poll the job registry share: its hook, the state read last, ending the task there."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from airflow.triggers.base import TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.triggers.base import PollingTrigger, TriggerPayload


@dataclass(frozen=True)
class RegistryEvent(TriggerPayload):
    """
    How a wait on the registry ended: ``status`` (the awaited condition, ``failed`` or ``timeout``) and the last
    ``state`` read (None before any).
    """

    status: str
    state: str | None


@dataclass(kw_only=True, eq=False, repr=False)
class RegistryPollingTrigger(PollingTrigger[RegistryEvent]):
    """
    Poll the job registry until :meth:`poll` returns an event, or report a timeout at ``deadline``.

    :param deadline: epoch seconds after which a ``timeout`` event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    :param metadata_conn_id: connection of the registry database.
    :param end_from_trigger: end the task here (success on :attr:`done_status`, skipped on a timeout with
        ``soft_fail``, failed otherwise) instead of resuming it on a worker.
    :param soft_fail: with ``end_from_trigger``, a timeout skips the task instead of failing it.
    """

    #: Event status of the awaited condition.
    done_status: ClassVar[str] = "reached"
    #: The class of the trigger's events, which its sensor reads back.
    event_class: ClassVar[type[RegistryEvent]] = RegistryEvent

    metadata_conn_id: str | None = None
    end_from_trigger: bool = False
    soft_fail: bool = False
    #: The state read last, reported with a timeout.
    state: str | None = field(default=None, init=False)

    @cached_property
    def hook(self) -> EnterpriseMetadataHook:
        return EnterpriseMetadataHook(self.metadata_conn_id)

    def timed_out(self) -> RegistryEvent:
        return self.event_class(status="timeout", state=self.state)

    def trigger_event(self, event: RegistryEvent) -> TriggerEvent:
        """Resume the task with ``event``, or with ``end_from_trigger`` end it here."""
        if not self.end_from_trigger:
            return super().trigger_event(event)
        if event.status == self.done_status:
            return TaskSuccessEvent()
        if event.status == "timeout" and self.soft_fail:
            return TaskSkippedEvent()
        self.log.error("Ending the task failed: %s", event.to_payload())
        return TaskFailedEvent()
