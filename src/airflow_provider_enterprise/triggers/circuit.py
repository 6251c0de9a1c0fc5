"""Wait in the triggerer until a circuit breaker admits calls."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.resilience.circuit_breaker import admits
from airflow_provider_enterprise.triggers.base import RegistryPollingTrigger


class CircuitClosedTrigger(RegistryPollingTrigger):
    """
    Poll a breaker until it would grant a permit (event status ``admits``).

    :param name: the breaker.
    """

    done_status = "admits"

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.name = name

    async def check(self, hook: EnterpriseMetadataHook) -> tuple[dict[str, Any] | None, str | None]:
        rows = await hook.aquery("SELECT * FROM enterprise_circuit_breakers WHERE name = %(name)s", {"name": self.name})
        row = rows[0] if rows else None
        state = row["state"] if row else "closed"
        if admits(row, hook.settings.circuit_breaker, time.time()):
            return {"status": self.done_status, "state": state}, state
        return None, state
