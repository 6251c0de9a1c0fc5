"""What the registry sensors share: poking through the hook, or deferring to a registry-polling trigger."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_enterprise.triggers.base import RegistryPollingTrigger


class RegistrySensor(BaseSensorOperator):
    """
    A sensor over the job registry; with ``deferrable=True`` it waits in the triggerer, holding no worker slot.

    :param deferrable: wait in the triggerer.
    :param metadata_conn_id: connection of the registry database.
    """

    #: Trigger event status that satisfies the sensor.
    done_status = "reached"

    def __init__(self, *, deferrable: bool = False, metadata_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.metadata_conn_id = metadata_conn_id

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
            trigger=self.trigger(
                deadline=time.time() + self.timeout if self.timeout else None,
                poll_interval=self.poke_interval,
                metadata_conn_id=self.metadata_conn_id,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        if event["status"] == self.done_status:
            self.log.info("%s is %s", self.describe(), event["state"])
            return
        if event["status"] == "timeout":
            message = f"{self.describe()} still {event['state'] or 'unknown'} after {self.timeout} s"
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowException(message)
        raise AirflowException(f"{self.describe()} is {event['state']}")
