"""Wait in the triggerer for a Spark application submitted in cluster mode to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_enterprise import metrics
from airflow_provider_enterprise.hooks.spark_status import (
    ApplicationStatus,
    Backend,
    SparkApplicationTracker,
)


class SparkApplicationTrigger(BaseTrigger):
    """
    Poll a cluster-mode application's status API until it ends, the job's deadline passes or the API stays
    unreachable.

    Events: ``{"status": "succeeded" | "failed" | "timeout" | "unreachable", "state", "message", "external_id",
    "attempt", "run_id"}``. The trigger enforces the deadline itself (Airflow's deferral timeout stops a task without
    stopping its application); ``execute_complete`` then kills the application. When a user marks or clears the
    deferred task, :meth:`on_kill` kills it.

    :param backend: ``standalone``, ``kubernetes`` or ``yarn``.
    :param status_url: the status API (no credentials: a Kubernetes token is read from ``conn_id``).
    :param external_id: the application's driver id, ``namespace:pod`` or YARN application id.
    :param conn_id: the Spark connection, read with ``aget_connection`` for the Kubernetes API's token.
    :param deadline: epoch seconds after which a ``timeout`` event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    :param max_poll_errors: consecutive failed polls after which an ``unreachable`` event is sent.
    :param attempt: the registry attempt, handed back in the event.
    :param run_id: the run id the generic application was submitted as (a processing job), handed back in the
        event; None for a custom application, or one an attempt re-attached to.
    """

    def __init__(
        self,
        *,
        backend: Backend,
        status_url: str,
        external_id: str,
        conn_id: str | None = None,
        deadline: float | None = None,
        poll_interval: float = 5.0,
        max_poll_errors: int = 5,
        attempt: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.status_url = status_url
        self.external_id = external_id
        self.conn_id = conn_id
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.max_poll_errors = max_poll_errors
        self.attempt = attempt
        self.run_id = run_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "backend": self.backend,
            "status_url": self.status_url,
            "external_id": self.external_id,
            "conn_id": self.conn_id,
            "deadline": self.deadline,
            "poll_interval": self.poll_interval,
            "max_poll_errors": self.max_poll_errors,
            "attempt": self.attempt,
            "run_id": self.run_id,
        }

    async def tracker(self) -> SparkApplicationTracker:
        conn = None
        if self.backend == "kubernetes" and self.conn_id:
            from airflow.sdk import BaseHook
            from airflow.sdk.exceptions import AirflowNotFoundException

            try:
                conn = await BaseHook.aget_connection(self.conn_id)
            except AirflowNotFoundException:
                conn = None
        return SparkApplicationTracker.connect(self.backend, self.status_url, conn)

    def _event(self, status: str, state: str | None, message: str = "") -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "state": state,
                "message": message,
                "external_id": self.external_id,
                "attempt": self.attempt,
                "run_id": self.run_id,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        tracker = await self.tracker()
        status: ApplicationStatus | None = None
        errors = 0
        while True:
            try:
                previous, status = status, await tracker.astatus(self.external_id)
                errors = 0
                if previous is None or previous.state != status.state:
                    self.log.info("Application %s is %s", self.external_id, status.state)
            except (httpx.HTTPError, ValueError, KeyError) as err:  # unreachable, or an answer that is not a status
                errors += 1
                metrics.incr(metrics.SPARK_STATUS_ERRORS, backend=self.backend)
                self.log.warning(
                    "Status of %s unavailable (%s of %s): %s", self.external_id, errors, self.max_poll_errors, err
                )
                if errors >= self.max_poll_errors:
                    yield self._event("unreachable", status.state if status else None, f"{tracker!r}: {err}")
                    return
            if status is not None and not status.active:
                outcome = "succeeded" if status.succeeded else "failed"
                self.log.info("Application %s ended %s (%s)", self.external_id, status.state, outcome)
                yield self._event(outcome, status.state, status.message)
                return
            if self.deadline is not None and time.time() >= self.deadline:
                yield self._event("timeout", status.state if status else None)
                return
            await asyncio.sleep(self.poll_interval)

    async def on_kill(self) -> None:
        """Kill the application: the user marked the deferred task failed or succeeded, or cleared it."""
        self.log.info("Task killed while waiting: killing application %s", self.external_id)
        tracker = await self.tracker()
        await tracker.akill(self.external_id)
