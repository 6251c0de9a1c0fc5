"""Wait in the triggerer for a Spark application submitted in cluster mode to end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from airflow_provider_enterprise import metrics
from airflow_provider_enterprise.clients.spark_status import ApplicationStatus, Backend, SparkApplicationTracker
from airflow_provider_enterprise.triggers.base import PollingTrigger, TriggerPayload

#: How a wait for an application can end.
WaitOutcome = Literal["succeeded", "failed", "timeout", "unreachable"]


@dataclass(frozen=True)
class SparkApplicationEvent(TriggerPayload):
    """
    How the wait for a cluster-mode application ended.

    :param status: ``succeeded`` or ``failed`` (the application ended so), ``timeout`` (the job's deadline passed
        first) or ``unreachable`` (the status API failed ``max_poll_errors`` polls in a row).
    :param state: the application's state read last; None when none was read.
    :param external_id: the application.
    :param attempt: the registry attempt the trigger was handed, handed back.
    :param message: the cluster's message about the end, or the status API's last error.
    :param run_id: the run id the generic application was submitted as; None for a custom application, or one an
        attempt re-attached to.
    :param status_api: where the application's status is read (see
        :meth:`~airflow_provider_enterprise.clients.spark_status.SparkApplicationTracker.status_api`), to kill it
        from the resumed task; None in events stored before events carried it.
    """

    status: WaitOutcome
    state: str | None
    external_id: str
    attempt: dict[str, Any]
    message: str = ""
    run_id: str | None = None
    status_api: dict[str, Any] | None = None


@dataclass(kw_only=True, eq=False, repr=False)
class SparkApplicationTrigger(PollingTrigger[SparkApplicationEvent]):
    """
    Poll a cluster-mode application's status API until it ends, the job's deadline passes or the API stays
    unreachable.

    Its event is a :class:`SparkApplicationEvent`: ``status`` (``succeeded``, ``failed``, ``timeout`` or
    ``unreachable``), ``state``, ``message``, ``external_id``, ``attempt``, ``run_id`` and ``status_api``.

    The trigger enforces the deadline itself (Airflow's deferral timeout stops a task without stopping its
    application); ``execute_complete`` then kills the application. When a user marks or clears the deferred task,
    :meth:`on_kill` kills it.

    :param backend: ``standalone``, ``kubernetes`` or ``yarn``.
    :param status_url: the status API (no credentials: a Kubernetes token is read from ``conn_id``).
    :param external_id: the application's driver id, ``namespace:pod`` or YARN application id.
    :param attempt: the registry attempt, handed back in the event.
    :param conn_id: the Spark connection, read with ``aget_connection`` for the Kubernetes API's token.
    :param deadline: epoch seconds after which a ``timeout`` event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    :param max_poll_errors: consecutive failed polls after which an ``unreachable`` event is sent.
    :param run_id: the run id the generic application was submitted as (a processing job), handed back in the
        event; None for a custom application, or one an attempt re-attached to.
    """

    backend: Backend
    status_url: str
    external_id: str
    attempt: dict[str, Any]
    conn_id: str | None = None
    max_poll_errors: int = 5
    run_id: str | None = None
    _tracker: SparkApplicationTracker | None = field(default=None, init=False)
    _status: ApplicationStatus | None = field(default=None, init=False)
    _errors: int = field(default=0, init=False)

    async def tracker(self) -> SparkApplicationTracker:
        """The status API's client, made once (a Kubernetes one with the connection's token)."""
        if self._tracker is None:
            conn = None
            if self.backend == "kubernetes" and self.conn_id:
                from airflow.sdk import BaseHook
                from airflow.sdk.exceptions import AirflowNotFoundException

                try:
                    conn = await BaseHook.aget_connection(self.conn_id)
                except AirflowNotFoundException:
                    conn = None
            self._tracker = SparkApplicationTracker.connect(self.backend, self.status_url, conn)
        return self._tracker

    def _event(self, status: WaitOutcome, message: str = "") -> SparkApplicationEvent:
        return SparkApplicationEvent(
            status=status,
            state=self._status.state if self._status else None,
            external_id=self.external_id,
            attempt=self.attempt,
            message=message,
            run_id=self.run_id,
            status_api=self._tracker.status_api(self.conn_id) if self._tracker else None,
        )

    async def poll(self) -> SparkApplicationEvent | None:
        tracker = await self.tracker()
        try:
            previous, self._status = self._status, await tracker.astatus(self.external_id)
        except (httpx.HTTPError, ValueError, KeyError) as err:  # unreachable, or an answer that is not a status
            self._errors += 1
            metrics.incr(metrics.SPARK_STATUS_ERRORS, backend=self.backend)
            self.log.warning(
                "Status of %s unavailable (%s of %s): %s", self.external_id, self._errors, self.max_poll_errors, err
            )
            return self._event("unreachable", f"{tracker!r}: {err}") if self._errors >= self.max_poll_errors else None
        self._errors = 0
        status = self._status
        if previous is None or previous.state != status.state:
            self.log.info("Application %s is %s", self.external_id, status.state)
        if status.active:
            return None
        outcome: Literal["succeeded", "failed"] = "succeeded" if status.succeeded else "failed"
        self.log.info("Application %s ended %s (%s)", self.external_id, status.state, outcome)
        return self._event(outcome, status.message)

    def timed_out(self) -> SparkApplicationEvent:
        return self._event("timeout")

    async def on_kill(self) -> None:
        """Kill the application: the user marked the deferred task failed or succeeded, or cleared it."""
        self.log.info("Task killed while waiting: killing application %s", self.external_id)
        tracker = await self.tracker()
        await tracker.akill(self.external_id)
