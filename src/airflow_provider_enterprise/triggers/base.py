"""What the registry-polling triggers share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook


class RegistryPollingTrigger(BaseTrigger):
    """
    Poll the registry until :meth:`check` returns an event, or report a timeout at ``deadline``.

    The trigger enforces the deadline itself: Airflow's deferral timeout ends the task without any cleanup.
    Subclasses take keyword arguments only; they are what the trigger serializes.

    :param deadline: epoch seconds after which a ``timeout`` event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    :param metadata_conn_id: connection of the registry database.
    :param end_from_trigger: end the task here (success on :attr:`done_status`, skipped on a timeout with
        ``soft_fail``, failed otherwise) instead of resuming it on a worker.
    :param soft_fail: with ``end_from_trigger``, a timeout skips the task instead of failing it.
    """

    #: Event status of the awaited condition.
    done_status = "reached"

    def __init__(
        self,
        *,
        deadline: float | None,
        poll_interval: float,
        metadata_conn_id: str | None = None,
        end_from_trigger: bool = False,
        soft_fail: bool = False,
        **fields: Any,
    ) -> None:
        super().__init__()
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.metadata_conn_id = metadata_conn_id
        self.end_from_trigger = end_from_trigger
        self.soft_fail = soft_fail
        self._fields = {
            "deadline": deadline,
            "poll_interval": poll_interval,
            "metadata_conn_id": metadata_conn_id,
            **({"end_from_trigger": True, "soft_fail": soft_fail} if end_from_trigger else {}),
            **fields,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", dict(self._fields)

    async def check(self, hook: EnterpriseMetadataHook) -> tuple[dict[str, Any] | None, str | None]:
        """Return ``(event payload or None, current state)``."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = EnterpriseMetadataHook(self.metadata_conn_id)
        while True:
            event, state = await self.check(hook)
            if event is None and self.deadline is not None and time.time() >= self.deadline:
                event = {"status": "timeout", "state": state}
            if event is not None:
                yield self._event(event)
                return
            await asyncio.sleep(self.poll_interval)

    def _event(self, payload: dict[str, Any]) -> TriggerEvent:
        """The event that resumes the task with ``payload``, or with ``end_from_trigger`` the one that ends it."""
        if not self.end_from_trigger:
            return TriggerEvent(payload)
        if payload["status"] == self.done_status:
            return TaskSuccessEvent()
        if payload["status"] == "timeout" and self.soft_fail:
            return TaskSkippedEvent()
        self.log.error("Ending the task failed: %s", payload)
        return TaskFailedEvent()
