"""Wait until a circuit breaker admits calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker, admits
from airflow_provider_enterprise.sensors.base import RegistrySensor
from airflow_provider_enterprise.triggers.circuit import CircuitClosedTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class CircuitClosedSensor(RegistrySensor):
    """
    Wait until the breaker ``name`` would grant a permit (closed, or ready for a probe).

    :param name: the breaker, e.g. ``spark:spark_default``. (templated)
    """

    trigger_class = CircuitClosedTrigger
    template_fields: Sequence[str] = ("name",)

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self._start_from_trigger()

    def describe(self) -> str:
        return f"circuit {self.name!r}"

    def poke(self, context: Context) -> bool:
        breaker = CircuitBreaker(self.hook, self.name)
        row = breaker.status()
        self.log.info("Circuit %s is %s", self.name, row["state"])
        return admits(row, breaker.settings, time.time())

    def trigger(self, **common: Any) -> CircuitClosedTrigger:
        return CircuitClosedTrigger(name=self.name, **common)
