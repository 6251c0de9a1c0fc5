"""What the job operators share: each try is an attempt of a registered job, with retries, breaker, dead letters."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_enterprise import metrics, storage
from airflow_provider_enterprise.exceptions import JobCancelledError
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey, RunTrigger
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker, CircuitOpenError, Permit
from airflow_provider_enterprise.resilience.dead_letter import REPLAY_CONF_KEY, DeadLetterQueue
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error, is_storage_error
from airflow_provider_enterprise.resilience.retry import NamedRetryPolicy, retry_policy_args
from airflow_provider_enterprise.security.masking_keys import register_keys
from airflow_provider_enterprise.security.redaction import redact, redact_error
from airflow_provider_enterprise.spec.models import PRIORITY_WEIGHTS, Priority
from airflow_provider_enterprise.triggers.circuit import CircuitClosedTrigger, CircuitEvent

if TYPE_CHECKING:
    from airflow.sdk import Context


@dataclass(frozen=True)
class RunningAttempt:
    """A registered try of a job: its ids, engine, start (epoch s), the replay it runs and its breakers' permits."""

    job_id: int
    attempt_id: int
    try_number: int
    engine: str = "local"
    started_at: float = 0.0
    replay: dict[str, Any] | None = None
    permits: tuple[Permit, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for a trigger to hand back to ``execute_complete``."""
        return {**asdict(self), "permits": [asdict(p) for p in self.permits]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunningAttempt:
        return cls(**{**data, "permits": tuple(Permit(**p) for p in data.get("permits", ()))})


class EnterpriseJobOperator(BaseOperator):
    """
    Base class of operators whose every try is an attempt of a job in the registry.

    A subclass runs the job in :meth:`execute` between :meth:`register_attempt` and :meth:`record_success`
    or :meth:`record_failure`, which keep the registry, the circuit breaker and the dead-letter queue in step
    with Airflow's retries.

    :param job_name: name of the job, shown in the registry.
    :param job_type: the seed's job type, recorded in the registry.
    :param job_data: free-form data recorded with the job. (templated)
    :param priority: ``low``, ``normal``, ``high``, ``urgent`` or ``critical``; sets the task's
        ``priority_weight`` (1, 5, 10, 20, 50) unless it is given.
    :param metadata_conn_id: connection of the registry database.
    :param retry_policy_name: a named retry policy (``default``, ``network_error``, ``resource_exhausted``,
        ``temporary_failure``, ``critical_job`` or one from config); sets ``retries`` and ``retry_policy``.
        Without it, ``retries``/``retry_policy`` given directly or in ``default_args`` apply, else ``default``.
    :param circuit_breaker: name of a circuit breaker guarding a resource the job depends on (for example
        ``hive-metastore``); transient failures count against it, successes close it. A job on object stores also
        takes the breaker of each storage connection, ``storage:<conn_id>``, which counts the stores' failures.
    :param on_circuit_open: ``fail_fast`` (a transient failure: Airflow retries later) or ``defer`` (wait in
        the triggerer, holding no worker slot, until the breaker admits a call; ``execution_timeout`` bounds
        the wait).
    """

    #: What a job may do when its breaker is open.
    circuit_open_actions: tuple[str, ...] = ("fail_fast", "defer")

    def __init__(
        self,
        *,
        job_name: str,
        job_type: str,
        job_data: dict[str, Any] | None = None,
        priority: str = "normal",
        metadata_conn_id: str | None = None,
        retry_policy_name: str | None = None,
        circuit_breaker: str | None = None,
        on_circuit_open: str = "fail_fast",
        **kwargs: Any,
    ) -> None:
        if on_circuit_open not in self.circuit_open_actions:
            choices = ", ".join(repr(a) for a in self.circuit_open_actions)
            raise ValueError(f"on_circuit_open must be one of {choices}, got {on_circuit_open!r}")
        if priority in PRIORITY_WEIGHTS and "priority_weight" not in kwargs:
            kwargs["priority_weight"] = PRIORITY_WEIGHTS[Priority(priority)]
        chosen = {"retries", "retry_policy"} & (kwargs.keys() | (kwargs.get("default_args") or {}).keys())
        if retry_policy_name is not None or not chosen:
            kwargs.update(retry_policy_args(retry_policy_name or "default"))
        super().__init__(**kwargs)
        self.job_name = job_name
        self.job_type = job_type
        self.job_data = job_data or {}
        self.priority = priority
        self.metadata_conn_id = metadata_conn_id
        self.circuit_breaker = circuit_breaker
        self.on_circuit_open = on_circuit_open

    @classmethod
    def placement_engine(cls, execution_engine: Any) -> str:
        """
        The engine whose queue and pool the task takes (``engines.<engine>.queue`` and ``pool``, applied by
        :func:`airflow_provider_enterprise.ops.policies.task_policy`): Spark's for a job that always runs on Spark,
        else the local engine's, since ``auto`` and an engine chosen at run time may run the job in the worker.
        """
        return "spark" if execution_engine == "spark" else "local"

    @cached_property
    def hook(self) -> EnterpriseMetadataHook:
        return EnterpriseMetadataHook(self.metadata_conn_id)

    # -- before the job runs ------------------------------------------------------------------------

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """
        Render the templated fields, then register their secrets with the secrets masker (the rendered
        ``job_data``'s and the masking keys the rendered processing logic names), so that Airflow masks them in the
        rendered fields it stores and shows, as the registry and the task log do.
        """
        self._render_error: Exception | None = None
        try:
            super().render_template_fields(context, jinja_env)
        except Exception as err:  # an undefined variable, a bad filter: the job's attempt records it
            self._render_error = err
            return
        rendered = {field: getattr(self, field) for field in self.template_fields}
        register_keys(rendered)
        redact(rendered, register=True)

    def raise_render_error(self) -> None:
        """
        Raise the error rendering the templated fields raised, if any: each entry point calls it once the attempt
        is registered (or known), so that the failure is recorded there (an attempt row, a dead letter) instead of
        failing the task before the job exists. The fields are never used half-rendered.
        """
        error: Exception | None = getattr(self, "_render_error", None)
        if error is not None:
            raise error

    def replay_of(self, context: Context) -> dict[str, Any] | None:
        """Return this task's replay from the run's conf (a dead letter being replayed), if any."""
        ti = context["ti"]
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        replay = conf.get(REPLAY_CONF_KEY)
        if (
            isinstance(replay, dict)
            and replay.get("task_id") == ti.task_id
            and replay.get("map_index", -1) == ti.map_index
        ):
            return replay
        return None

    def acquire_permits(
        self, names: Sequence[str], *, held: Sequence[Permit] = ()
    ) -> tuple[tuple[Permit, ...], CircuitOpenError | None]:
        """
        Ask each breaker in ``names`` for a permit. When one is open, release the permits taken (and ``held``), then
        defer until it admits calls (``on_circuit_open='defer'``) or return its error.
        """
        permits: list[Permit] = []
        for name in names:
            breaker = CircuitBreaker(self.hook, name)
            try:
                permits.append(breaker.acquire())
            except CircuitOpenError as err:
                self.release_permits([*held, *permits])
                if self.on_circuit_open != "defer":
                    return (), err
                self.log.info("%s; deferring until it admits calls", err)
                deadline = time.time() + self.execution_timeout.total_seconds() if self.execution_timeout else None
                self.defer(
                    trigger=CircuitClosedTrigger(
                        name=name,
                        deadline=deadline,
                        poll_interval=min(30.0, breaker.settings.reset_timeout / 4),
                        metadata_conn_id=self.metadata_conn_id,
                    ),
                    method_name="execute_after_circuit",
                    kwargs={"breaker": name},
                )
        return tuple(permits), None

    def acquire_permit(self) -> tuple[tuple[Permit, ...], CircuitOpenError | None]:
        """Ask the job's own circuit breaker (``circuit_breaker``) for a permit, as :meth:`acquire_permits`."""
        return self.acquire_permits([self.circuit_breaker] if self.circuit_breaker else [])

    def release_permits(self, permits: Sequence[Permit]) -> None:
        """Give ``permits`` back unused (a probe's slot is freed at once)."""
        for permit in permits:
            CircuitBreaker(self.hook, permit.name).release(permit)

    def execute_after_circuit(self, context: Context, event: dict[str, Any], breaker: str | None = None) -> Any:
        """Resume after the circuit breaker ``breaker`` admitted calls (or report that it never did)."""
        waited = CircuitEvent.from_payload(event)
        if waited.status != "admits":
            raise CircuitOpenError(breaker or self.circuit_breaker or "", waited.state or "unknown", time.time())
        return self.execute(context)

    def register_attempt(
        self,
        context: Context,
        *,
        engine: str,
        spec: dict[str, Any] | None,
        replay: dict[str, Any] | None,
        permits: tuple[Permit, ...],
        inputs: list[dict[str, Any]] | None = None,
    ) -> RunningAttempt:
        """
        Register the job (once) and this try as its running attempt, with the rendered ``spec``, who or what
        triggered the DAG run, and the ``inputs`` it reads (for the audit trail).
        """
        ti = context["ti"]
        key = JobKey(ti.dag_id, ti.run_id, ti.task_id, ti.map_index if ti.map_index is not None else -1)
        dag_run = context.get("dag_run")
        run_type = getattr(dag_run, "run_type", None)
        trigger = RunTrigger(
            user=getattr(dag_run, "triggering_user_name", None), run_type=getattr(run_type, "value", run_type)
        )
        attempt = self.hook.register_attempt(
            key,
            ti.try_number,
            job_name=self.job_name,
            job_type=self.job_type,
            priority=self.priority,
            engine=engine,
            spec=spec,
            trigger=trigger,
            inputs=inputs,
        )
        job_id = attempt.job_id
        if not attempt.created:
            raise AirflowFailException(
                f"attempt {ti.try_number} of job {job_id} is already registered as {attempt.status.value}; "
                "refusing to run the same try twice"
            )
        self.log.info("Job %s (%s) attempt %s registered as job_id=%s", self.job_name, key, ti.try_number, job_id)
        if replay:
            self.log.info("Replaying dead letter %s with its recorded spec", replay["dead_letter_id"])
        metrics.gauge(metrics.ACTIVE_JOBS, 1, delta=True, engine=engine)
        return RunningAttempt(job_id, attempt.attempt_id, ti.try_number, engine, time.time(), replay, permits)

    # -- after it ran -------------------------------------------------------------------------------

    def _resource_failed(self, permit: Permit, error: BaseException) -> bool:
        """
        Whether transient ``error`` is a failure of the resource ``permit`` guards: the job's own breaker counts
        every one, a storage connection's (``storage:``) its store's errors, an engine's (``spark:``) the others.
        """
        if permit.name == self.circuit_breaker:
            return True
        return is_storage_error(error) == permit.name.startswith(storage.BREAKER_PREFIX)

    def error_kind(self, error: BaseException) -> ErrorKind:
        """Whether ``error`` is permanent or transient for this job (its named retry policy may move classes)."""
        policy = self.retry_policy
        return policy.classify(error) if isinstance(policy, NamedRetryPolicy) else classify_error(error)

    def _failure_outcome(self, error: BaseException, kind: ErrorKind, ti: Any) -> tuple[bool, str]:
        """Return whether this failure (of ``kind``) is final and the retry decision's reason."""
        if kind is ErrorKind.PERMANENT:
            return True, f"{type(error).__name__} is permanent: no retry"
        if isinstance(self.retry_policy, NamedRetryPolicy):
            decision = self.retry_policy.decide(error, ti.try_number)
            return decision.action.value == "fail", decision.reason or decision.action.value
        if ti.try_number > ti.max_tries:
            return True, f"retries exhausted ({ti.max_tries} allowed)"
        return False, f"Airflow retries (try {ti.try_number + 1} of {ti.max_tries + 1})"

    def _report_end(self, attempt: RunningAttempt, context: Context, status: str, engine: str | None) -> dict[str, str]:
        """Emit the end of an attempt (count, duration, active gauge); return the tags of its other metrics."""
        engine = engine or attempt.engine
        dag_id = context["ti"].dag_id
        tags = {"status": status, "engine": engine, "job_type": self.job_type, "dag_id": dag_id}
        metrics.incr(metrics.JOBS, 1, **tags)
        metrics.timing(metrics.JOB_DURATION, max(0.0, time.time() - attempt.started_at), **tags)
        metrics.gauge(metrics.ACTIVE_JOBS, -1, delta=True, engine=attempt.engine)
        return {"engine": engine, "dag_id": dag_id}

    def record_failure(
        self, attempt: RunningAttempt, error: Exception, context: Context, *, engine: str | None = None
    ) -> NoReturn:
        """
        Record a failed attempt and raise: count a transient failure against the breakers whose resource failed
        (:meth:`_resource_failed`), release the rest (a permanent failure only frees their probe slots), dead-letter
        a final failure (not a cancelled job), and fail a permanent one without retries. The error's message is
        masked (:func:`~airflow_provider_enterprise.security.redaction.redact_error`) once classified, before it is
        recorded, logged or raised.
        """
        ti = context["ti"]
        kind = self.error_kind(error)
        for permit in attempt.permits:
            breaker = CircuitBreaker(self.hook, permit.name)
            if kind is ErrorKind.TRANSIENT and self._resource_failed(permit, error):
                breaker.record_failure(permit)
            else:  # the job's own failure, or another resource's
                breaker.release(permit)
        final, reason = self._failure_outcome(error, kind, ti)
        redact_error(error)  # classified as raised, shown masked
        self.log.info("Attempt %s failed (%s): %s", ti.try_number, type(error).__name__, reason)
        self.hook.fail_attempt(attempt.attempt_id, error, retry_decision=reason)
        tags = self._report_end(attempt, context, "failed", engine)
        error_class = type(error).__name__
        if not final:
            metrics.incr(metrics.RETRIES, 1, error_class=error_class, **tags)
        elif isinstance(error, JobCancelledError):
            self.log.warning("Job %s was cancelled: no dead letter", self.job_name)
        else:
            dead_letter_id = DeadLetterQueue(self.hook).add(attempt.attempt_id, error)
            self.log.warning("Job %s failed for good; dead letter %s", self.job_name, dead_letter_id)
            if dead_letter_id is not None:
                metrics.incr(metrics.DEAD_LETTERS, dag_id=tags["dag_id"], error_class=error_class)
        if kind is ErrorKind.PERMANENT:
            raise AirflowFailException(str(error)) from error
        raise error

    def record_success(
        self,
        attempt: RunningAttempt,
        context: Context,
        *,
        engine: str | None = None,
        rows_in: int = 0,
        rows_out: int = 0,
        output_path: str = "",
        external_id: str | None = None,
        bad_rows: int = 0,
        inputs: list[dict[str, Any]] | None = None,
    ) -> None:
        """
        Report the success to the breakers, complete the attempt (``inputs``: those read, with their records),
        supersede the job's dead letters.
        """
        for permit in attempt.permits:
            CircuitBreaker(self.hook, permit.name).record_success(permit)
        self.hook.complete_attempt(
            attempt.attempt_id,
            rows_in=rows_in,
            rows_out=rows_out,
            output_path=output_path,
            external_id=external_id,
            bad_rows=bad_rows,
            inputs=inputs,
        )
        tags = self._report_end(attempt, context, "succeeded", engine)
        metrics.incr(metrics.RECORDS_PROCESSED, rows_in, **tags)
        metrics.incr(metrics.RECORDS_WRITTEN, rows_out, **tags)
        metrics.incr(metrics.BAD_ROWS, bad_rows, **tags)
        replay = attempt.replay
        resolved = DeadLetterQueue(self.hook).supersede(
            attempt.job_id, dead_letter_id=replay["dead_letter_id"] if replay else None
        )
        if resolved:
            self.log.info("Marked %s dead letter(s) of this job superseded", resolved)
