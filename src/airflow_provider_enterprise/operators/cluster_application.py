"""What the job operators that wait for a cluster-mode Spark application share: re-attaching, recording, deferring."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NoReturn

from airflow_provider_enterprise.engines.reuse import earlier_application
from airflow_provider_enterprise.exceptions import SparkApplicationError

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_provider_enterprise.clients.spark_status import ApplicationStatus, SparkApplicationTracker
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
    from airflow_provider_enterprise.operators.base import RunningAttempt
    from airflow_provider_enterprise.triggers.spark import SparkApplicationEvent

    _Operator = BaseOperator  # what the mixin is mixed into: its log and defer
else:
    _Operator = object


class ClusterApplicationMixin(_Operator):
    """
    Mixed into an :class:`~airflow_provider_enterprise.operators.base.EnterpriseJobOperator` whose tries submit
    an application to a cluster (standalone, Kubernetes, YARN) in cluster deploy mode and wait for it to end.

    A retry first looks at the applications of the job's earlier attempts (the registry, then the task's state
    store): one still running is re-attached to, one that succeeded is not submitted again. Each application is
    recorded on its attempt with where its status is read, before the task waits for it, so the reconciliation
    sweep can stop it if the task ends without it.
    """

    #: Where a cluster-mode application's id is kept across retries, as the Spark provider's operator keeps it.
    external_id_key = "spark_job_id"

    hook: EnterpriseMetadataHook
    job_name: str
    poll_interval: float
    _external_id: str | None = None

    def earlier_application(
        self, context: Context, attempt: RunningAttempt, tracker: SparkApplicationTracker
    ) -> ApplicationStatus | None:
        """
        Return the status of an earlier attempt's application that is still running (re-attach to it) or that
        succeeded (nothing to submit); None when there is none (submit). The candidates are the job's unfinished or
        failed attempts' applications (the registry) and the one the task's state store holds
        (:func:`~airflow_provider_enterprise.engines.reuse.earlier_application` reads their status).
        """
        candidates = self.hook.external_ids(attempt.job_id, before_try=attempt.try_number)
        store = context.get("task_state_store")
        stored = store.get(self.external_id_key) if store is not None else None
        if isinstance(stored, str) and stored and stored not in candidates:
            candidates.insert(0, stored)
        return earlier_application(tracker, candidates)

    def remember_application(
        self,
        context: Context,
        attempt: RunningAttempt,
        external_id: str,
        tracker: SparkApplicationTracker,
        conn_id: str | None,
    ) -> None:
        """Record the application, and where its status is read, on the attempt and in the task's state store."""
        self._external_id = external_id
        self.hook.annotate_attempt(attempt.attempt_id, external_id=external_id, status_api=tracker.status_api(conn_id))
        store = context.get("task_state_store")
        if store is not None:
            store.set(self.external_id_key, external_id)

    def forget_application(self, context: Context) -> None:
        """Drop the ended application from the task's state store."""
        store = context.get("task_state_store")
        if store is not None:
            store.delete(self.external_id_key)

    def defer_to_application(
        self,
        tracker: SparkApplicationTracker,
        external_id: str,
        attempt: RunningAttempt,
        *,
        conn_id: str | None,
        deadline: float | None,
        run_id: str | None = None,
    ) -> NoReturn:
        """
        Hand the wait to the triggerer; ``execute_complete`` resumes the task with its
        :class:`~airflow_provider_enterprise.triggers.spark.SparkApplicationEvent` (``run_id`` in it).

        :raises JobTimeoutError: the deadline passed already (the application is killed). Deferring then would
            resume the task at once, while Airflow's scheduler still handles the end of this process: it may take
            that end for the resumed try's and fail the task without ``execute_complete``.
        """
        import time

        from airflow_provider_enterprise.exceptions import JobTimeoutError
        from airflow_provider_enterprise.triggers.spark import SparkApplicationTrigger

        if deadline is not None and time.time() >= deadline:
            self.kill_application(lambda: tracker, external_id)
            self._external_id = None  # killed: nothing left to stop
            raise JobTimeoutError(
                f"job {self.job_name!r} exceeded its timeout before application {external_id} could be waited for"
            )

        self.log.info("Deferring: the triggerer waits for %s", external_id)
        self.defer(
            trigger=SparkApplicationTrigger(
                backend=tracker.backend,
                status_url=tracker.base_url,
                external_id=external_id,
                conn_id=conn_id,
                deadline=deadline,
                poll_interval=self.poll_interval,
                attempt=attempt.to_dict(),
                run_id=run_id,
            ),
            method_name="execute_complete",
        )

    def kill_application(self, tracker: Callable[[], SparkApplicationTracker], external_id: str) -> None:
        """Kill a cluster-mode application (best effort: it may have ended meanwhile, or its cluster be gone).

        :param tracker: makes the tracker of the application's cluster (its errors are caught too).
        """
        self.log.warning("Killing application %s", external_id)
        try:
            tracker().kill(external_id)
        except Exception:
            self.log.exception("Could not kill application %s", external_id)

    def raise_unless_ended(
        self,
        event: SparkApplicationEvent,
        *,
        timeout_error: Exception,
        tracker: Callable[[], SparkApplicationTracker],
    ) -> None:
        """
        Raise unless the waited-for application ended: on a timeout kill it and raise ``timeout_error``; when its
        status API stayed unreachable raise :class:`SparkApplicationError`.

        :param tracker: makes the tracker of the application's cluster for an event stored before events named
            their status API (a task deferred before an upgrade); otherwise the event's status API is used.
        """
        if event.status == "timeout":
            from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker

            if event.status_api is not None:
                tracker = partial(SparkApplicationTracker.from_status_api, event.status_api)
            self.kill_application(tracker, event.external_id)
            raise timeout_error
        if event.status == "unreachable":
            raise SparkApplicationError(
                f"the status of application {event.external_id} is unavailable: {event.message}"
            )


def application_failed(external_id: str, state: str | None, message: str) -> SparkApplicationError:
    """The error of an application that ended in a state other than success."""
    detail = f": {message}" if message else ""
    return SparkApplicationError(f"application {external_id} ended {state}{detail}")
