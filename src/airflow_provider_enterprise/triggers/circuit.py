"""Wait in the triggerer until a circuit breaker admits calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.resilience.circuit_breaker import admits


class CircuitClosedTrigger(BaseTrigger):
    """
    Poll a breaker until it would grant a permit, or report a timeout at ``deadline`` (epoch seconds).

    :param name: the breaker.
    :param deadline: when to give up; None waits forever.
    :param poll_interval: seconds between polls.
    :param metadata_conn_id: connection of the registry database.
    """

    def __init__(
        self, *, name: str, deadline: float | None, poll_interval: float = 10.0, metadata_conn_id: str | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.metadata_conn_id = metadata_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "metadata_conn_id": self.metadata_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = EnterpriseMetadataHook(self.metadata_conn_id)
        settings = hook.settings.circuit_breaker
        while True:
            rows = await hook.aquery(
                "SELECT * FROM enterprise_circuit_breakers WHERE name = %(name)s", {"name": self.name}
            )
            row = rows[0] if rows else None
            if admits(row, settings, time.time()):
                yield TriggerEvent({"status": "admits", "state": row["state"] if row else "closed"})
                return
            if self.deadline is not None and time.time() >= self.deadline:
                yield TriggerEvent({"status": "timeout", "state": row["state"]})
                return
            await asyncio.sleep(self.poll_interval)
