"""What the registry-polling triggers share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook


class RegistryPollingTrigger(BaseTrigger):
    """
    Poll the registry until :meth:`check` returns an event, or report a timeout at ``deadline``.

    The trigger enforces the deadline itself: Airflow's deferral timeout ends the task without any cleanup.
    Subclasses take keyword arguments only; they are what the trigger serializes.

    :param deadline: epoch seconds after which a ``timeout`` event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    :param metadata_conn_id: connection of the registry database.
    """

    def __init__(
        self, *, deadline: float | None, poll_interval: float, metadata_conn_id: str | None = None, **fields: Any
    ) -> None:
        super().__init__()
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.metadata_conn_id = metadata_conn_id
        self._fields = {
            "deadline": deadline,
            "poll_interval": poll_interval,
            "metadata_conn_id": metadata_conn_id,
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
            if event is not None:
                yield TriggerEvent(event)
                return
            if self.deadline is not None and time.time() >= self.deadline:
                yield TriggerEvent({"status": "timeout", "state": state})
                return
            await asyncio.sleep(self.poll_interval)
