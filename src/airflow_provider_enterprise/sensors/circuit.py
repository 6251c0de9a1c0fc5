"""Wait until a circuit breaker admits calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker, admits
from airflow_provider_enterprise.triggers.circuit import CircuitClosedTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class CircuitClosedSensor(BaseSensorOperator):
    """
    Wait until the breaker ``name`` would grant a permit (closed, or ready for a probe).

    :param name: the breaker, e.g. ``spark:spark_default``. (templated)
    :param deferrable: wait in the triggerer, holding no worker slot.
    :param metadata_conn_id: connection of the registry database.
    """

    template_fields: Sequence[str] = ("name",)

    def __init__(
        self, *, name: str, deferrable: bool = False, metadata_conn_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.deferrable = deferrable
        self.metadata_conn_id = metadata_conn_id

    @cached_property
    def hook(self) -> EnterpriseMetadataHook:
        return EnterpriseMetadataHook(self.metadata_conn_id)

    def poke(self, context: Context) -> bool:
        breaker = CircuitBreaker(self.hook, self.name)
        row = breaker.status()
        self.log.info("Circuit %s is %s", self.name, row["state"])
        return admits(row, breaker.settings, time.time())

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=CircuitClosedTrigger(
                name=self.name,
                deadline=time.time() + self.timeout if self.timeout else None,
                poll_interval=self.poke_interval,
                metadata_conn_id=self.metadata_conn_id,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        if event["status"] == "admits":
            return
        message = f"circuit {self.name!r} still {event['state']} after {self.timeout} s"
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise AirflowException(message)
