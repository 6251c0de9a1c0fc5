"""Wait in the triggerer until a circuit breaker admits calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Literal

from airflow_provider_enterprise.resilience.circuit_breaker import admits
from airflow_provider_enterprise.triggers.registry import RegistryEvent, RegistryPollingTrigger


@dataclass(frozen=True)
class CircuitEvent(RegistryEvent):
    """How a wait for a breaker ended: it ``admits`` calls, or ``timeout``; ``state`` is the breaker's."""

    status: Literal["admits", "timeout"]


@dataclass(kw_only=True, eq=False, repr=False)
class CircuitClosedTrigger(RegistryPollingTrigger):
    """
    Poll a breaker until it would grant a permit (event status ``admits``).

    :param name: the breaker.
    """

    done_status: ClassVar[str] = "admits"
    event_class: ClassVar[type[RegistryEvent]] = CircuitEvent

    name: str

    async def poll(self) -> CircuitEvent | None:
        rows = await self.hook.aquery(
            "SELECT * FROM enterprise_circuit_breakers WHERE name = %(name)s", {"name": self.name}
        )
        row = rows[0] if rows else None
        self.state = state = row["state"] if row else "closed"
        if admits(row, self.hook.settings.circuit_breaker, time.time()):
            return CircuitEvent(status="admits", state=state)
        return None
