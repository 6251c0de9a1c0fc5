"""Run a declarative data job as an Airflow task."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider_enterprise import assets, storage
from airflow_provider_enterprise.compiler.plan import PlanError, plan_from_declared_schemas
from airflow_provider_enterprise.engines.reuse import DeferredStart, Tries, committed_by_job
from airflow_provider_enterprise.engines.selection import EngineChoice, select_engine, spark_engine
from airflow_provider_enterprise.exceptions import (
    DataQualityError,
    JobCancelledError,
    JobTimeoutError,
    PermanentJobError,
    SparkApplicationError,
)
from airflow_provider_enterprise.lineage import JobLineageMixin, inject_spark_lineage
from airflow_provider_enterprise.operators.base import EnterpriseJobOperator, RunningAttempt
from airflow_provider_enterprise.operators.cluster_application import ClusterApplicationMixin, application_failed
from airflow_provider_enterprise.security.masking_keys import masking_keys, register_keys
from airflow_provider_enterprise.security.redaction import redact
from airflow_provider_enterprise.spec import (
    EngineName,
    InvalidJobSpec,
    JobSpec,
    WriteMode,
    contains_template,
    validate_job_spec,
)
from airflow_provider_enterprise.spec.models import job_defaults, job_fields

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_enterprise.compiler.masking import MaskingKey
    from airflow_provider_enterprise.engines.base import Engine, JobResult
    from airflow_provider_enterprise.engines.spark import SparkEngine

_RESOLVED_AT_RUN_TIME = "{{ resolved at run time }}"
#: The operator's defaults of the job's fields: JobSpec's (tests/unit/spec/test_job_fields.py holds them to it).
_DEFAULTS = job_defaults()


def _is_plain(value: Any) -> bool:
    """Return True for literal data (as opposed to an XComArg or another value resolved at run time)."""
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


class EnterpriseDataProcessingOperator(JobLineageMixin, ClusterApplicationMixin, EnterpriseJobOperator):
    """
    Run ``processing_logic`` over ``input_path`` (and the named ``inputs``) and write the result to ``output_path``.

    The spec is validated when the DAG is parsed (values holding Jinja are checked again after rendering;
    a spec that fails then fails the task without retries). Each try is registered as an attempt of the
    job in the registry, with its engine, rendered spec, timings, row counts and error. The job's fields and
    their defaults are :class:`~airflow_provider_enterprise.spec.JobSpec`'s, except ``execution_engine``: a task
    runs on the local engine unless it names another.

    :param job_name: name of the job, shown in the registry.
    :param input_path: file, directory or glob to read; the transformations start from it. (templated)
    :param inputs: more inputs, by name, for joins and unions: a path or ``{"path": ..., "format": ...,
        "schema": {...}, "header": ..., "delimiter": ..., "quote": ...}``. Without ``input_path`` the first
        one is the primary input. (templated)
    :param primary_input: the input the transformations start from, by name (default: ``input_path``'s input,
        else the first of ``inputs``).
    :param output_path: directory to write; replaced atomically on success. (templated)
    :param processing_logic: ``{"transformations": [...]}``, a dict or a JSON string. (templated)
    :param execution_engine: ``local`` (DuckDB), ``spark`` or ``auto`` (routed by input size and Spark's
        health and free cores; see docs/engines.md). (templated, e.g. ``"{{ params.engine }}"``)
    :param timeout: seconds after which the job is interrupted.
    :param input_format: ``csv``, ``parquet`` or ``json`` (JSON lines); inferred from the suffix when omitted.
    :param input_options: options of ``input_path``: ``schema``, ``header``, ``delimiter``, ``quote``.
    :param output_format: ``parquet`` (default), ``csv`` or ``json`` (JSON lines).
    :param partition_by: columns whose values name the output's subdirectories (``col=value/``).
    :param mode: ``overwrite`` (default: replace the output atomically) or ``error_if_exists`` (refused before
        any data is read). A ``mode`` in the DAG's ``default_args`` that is not one of these (a sensor's ``poke``
        or ``reschedule``) is left to the sensors.
    :param on_bad_rows: malformed CSV rows: ``quarantine`` (default: written to ``_bad_rows/`` inside the
        output with the reason), ``drop`` (counted only) or ``fail`` (the job fails, nothing is written).
    :param spark_conn_id: Airflow connection of the Spark cluster: type ``spark`` (spark-submit to its master)
        or ``spark_connect``; default ``engines.spark.conn_id``, and without that connection ``engines.spark.master``.
    :param spark_resources: ``executor_memory``, ``executor_cores``, ``max_executors``, ``driver_memory`` and
        ``conf`` (``spark.*`` settings) of the job's Spark application; unset ones come from ``engines.spark``.
    :param on_circuit_open: ``fail_fast`` (a transient failure: Airflow retries later), ``defer`` (wait in
        the triggerer, holding no worker slot, until the breaker admits a call; ``execution_timeout`` bounds
        the wait) or ``fallback`` (run on the local engine instead; needs ``allow_fallback=True``).
    :param allow_fallback: allow a job of another engine to run on the local engine when its breaker is open.
    :param deferrable: on Spark in cluster deploy mode on Kubernetes or YARN, submit the job and wait for its
        application in the triggerer, holding no worker slot (needs ``execution_engine='spark'``; any other
        target is refused when the task runs; a fallback to the local engine runs in the task). A retry
        re-attaches to the earlier attempt's application while it runs and reuses its committed output.
    :param poll_interval: seconds between status polls of a deferred job's application.
    :param storage_conn_id: Airflow connection of the object store that ``s3://``, ``gs://`` or ``abfs://`` paths
        name (default: the store's usual one: ``aws_default``, ``google_cloud_default``, ``wasb_default``). (templated)
    :param write_mode: the deprecated name of ``mode``, accepted with an ``AirflowProviderDeprecationWarning``
        until the next release; giving both is an error.
    :param kwargs: the job's registry, retry and breaker settings (``job_type``, ``job_data``, ``priority``,
        ``metadata_conn_id``, ``retry_policy_name``, ``circuit_breaker``): see
        :class:`~airflow_provider_enterprise.operators.base.EnterpriseJobOperator`. ``inlets`` and ``outlets``
        replace the automatic assets: by default the inputs are the task's inlets and the output its outlet (a
        templated path: the directory before its first template), and the committed output's asset event
        carries its rows, bad rows, checks and manifest. With the OpenLineage provider, the task's events carry
        the datasets, their schemas and the output's column lineage (see docs/lineage.md).
    """

    template_fields: Sequence[str] = (
        "input_path",
        "inputs",
        "output_path",
        "processing_logic",
        "job_data",
        "execution_engine",
        "storage_conn_id",
    )
    template_fields_renderers = {"processing_logic": "json", "job_data": "json", "inputs": "json"}
    ui_color = "#e8f4fd"
    circuit_open_actions = ("fail_fast", "defer", "fallback")

    def __init__(
        self,
        *,
        job_name: str,
        input_path: str | None = None,
        output_path: str,
        inputs: dict[str, Any] | None = None,
        primary_input: str | None = None,
        processing_logic: dict[str, Any] | str | None = None,
        execution_engine: str = EngineName.LOCAL.value,  # a task runs in its worker unless it names another engine
        timeout: float | None = None,
        input_format: str | None = None,
        input_options: dict[str, Any] | None = None,
        output_format: str = _DEFAULTS["output_format"],
        partition_by: list[str] | None = None,
        mode: str | None = None,  # None: JobSpec's default (_DEFAULTS["mode"]) once write_mode is gone
        on_bad_rows: str = _DEFAULTS["on_bad_rows"],
        spark_conn_id: str | None = None,
        spark_resources: dict[str, Any] | None = None,
        job_type: str = _DEFAULTS["job_type"],
        job_data: dict[str, Any] | None = None,
        priority: str = _DEFAULTS["priority"],
        metadata_conn_id: str | None = None,
        retry_policy_name: str | None = None,
        circuit_breaker: str | None = None,
        on_circuit_open: str = "fail_fast",
        allow_fallback: bool = False,
        deferrable: bool = False,
        poll_interval: float = 5.0,
        storage_conn_id: str | None = None,
        write_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if write_mode is not None:
            if mode is not None:
                raise ValueError(
                    f"give mode, or its deprecated name write_mode, not both (mode={mode!r}, write_mode={write_mode!r})"
                )
            warnings.warn(
                "Parameter `write_mode` is deprecated and will be removed in the next release. Use `mode` instead.",
                AirflowProviderDeprecationWarning,
                stacklevel=2,
            )
            mode = write_mode
        if (
            mode is not None
            and mode == (kwargs.get("default_args") or {}).get("mode")
            and mode not in {m.value for m in WriteMode}
        ):
            mode = None  # a DAG's default mode for its sensors (poke, reschedule), not a write mode
        if deferrable and execution_engine in (EngineName.LOCAL.value, EngineName.AUTO.value):
            raise ValueError(
                f"deferrable=True needs execution_engine='spark' (a cluster-mode application the triggerer waits "
                f"for); execution_engine={execution_engine!r} may run the job inside the task"
            )
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        if on_circuit_open == "fallback" and not allow_fallback:
            raise ValueError("on_circuit_open='fallback' needs allow_fallback=True")
        if on_circuit_open == "fallback" and execution_engine == EngineName.LOCAL.value:
            raise ValueError("on_circuit_open='fallback' falls back to the local engine: the job already runs there")
        kwargs = assets.with_job_assets(kwargs, inputs=assets.input_paths(input_path, inputs), output=output_path)
        super().__init__(
            job_name=job_name,
            job_type=job_type,
            job_data=job_data,
            priority=priority,
            metadata_conn_id=metadata_conn_id,
            retry_policy_name=retry_policy_name,
            circuit_breaker=circuit_breaker,
            on_circuit_open=on_circuit_open,
            **kwargs,
        )
        self.input_path = input_path
        self.inputs = inputs
        self.primary_input = primary_input
        self.output_path = output_path
        self.processing_logic = processing_logic if processing_logic is not None else {}
        self.execution_engine = execution_engine
        self.timeout = timeout
        self.input_format = input_format
        self.input_options = input_options
        self.output_format = output_format
        self.partition_by = partition_by
        self.mode = mode if mode is not None else _DEFAULTS["mode"]
        self.on_bad_rows = on_bad_rows
        self.spark_conn_id = spark_conn_id
        self.spark_resources = spark_resources
        self._running_engine: Engine | None = None
        self._kill_requested = False
        self.allow_fallback = allow_fallback
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.storage_conn_id = storage_conn_id
        self._validate_at_parse_time()

    def _validate_at_parse_time(self) -> None:
        """Refuse a bad literal spec when the DAG file is parsed (templated values are checked once rendered)."""
        if _is_plain(self.processing_logic) and not (
            isinstance(self.processing_logic, str) and contains_template(self.processing_logic)
        ):
            # Fails the DAG import with the transformation index, field and bad value. Values that Airflow
            # resolves at run time (XComArgs) stand in as templates until then.
            data = {k: v if _is_plain(v) else _RESOLVED_AT_RUN_TIME for k, v in self._spec_data().items()}
            spec = validate_job_spec(data, allow_templates=True)
            if not contains_template(data):
                # With every input's schema declared, a missing column or a type mismatch is known now.
                try:
                    plan_from_declared_schemas(spec)
                except PlanError as err:
                    raise InvalidJobSpec(f"invalid job spec {self.job_name!r}:\n  {err}") from None

    def _spec_data(self) -> dict[str, Any]:
        """The job's fields (:func:`~airflow_provider_enterprise.spec.models.job_fields`) as set, None left out."""
        data = {name: getattr(self, name) for name in job_fields()}
        if isinstance(data["processing_logic"], str):
            try:
                data["processing_logic"] = json.loads(data["processing_logic"])
            except json.JSONDecodeError as err:
                raise InvalidJobSpec(f"processing_logic is not valid JSON: {err}") from None
        return {k: v for k, v in data.items() if v is not None}

    def _job_spec_data(self, context: Context) -> dict[str, Any]:
        """The spec this try runs: a replayed dead letter's recorded spec, else the rendered fields."""
        replay = self.replay_of(context)
        return replay["spec"] if replay else self._spec_data()

    def on_kill(self) -> None:
        """
        Stop the job when the task is marked failed or cleared while it runs: its engine (a DuckDB query, a Spark
        application); before the engine exists, the job does not start (:meth:`_started_engine`).
        """
        self._kill_requested = True
        kill = getattr(self._running_engine, "kill", None)
        if kill is not None:
            kill()

    def _tries(self, context: Context, attempt: RunningAttempt) -> Tries:
        """This try and the first of its series (since the task instance was created or cleared: see
        :mod:`~airflow_provider_enterprise.engines.reuse`)."""
        ti = context["ti"]
        max_tries = getattr(ti, "max_tries", None)
        if not isinstance(max_tries, int):  # unknown: taken for a first try (nothing is reused)
            return Tries(attempt.job_id, attempt.try_number, attempt.try_number)
        return Tries.of(attempt.job_id, attempt.try_number, max_tries=max_tries, retries=self.retries or 0)

    def _started_engine(
        self, context: Context, spec: JobSpec, attempt: RunningAttempt, keys: dict[str, MaskingKey], fallback: bool
    ) -> tuple[EngineChoice, RunningAttempt]:
        """
        Make the engine that runs ``spec`` (:func:`~airflow_provider_enterprise.engines.selection.select_engine`;
        routing's decision is recorded on the attempt) and keep it for :meth:`on_kill`, unless a kill was asked for
        already; return it with ``attempt`` holding the permit of the engine's breaker too. A retry that reuses an
        earlier try's commit calls no resource: the breakers' permits are given back.
        """
        choice = select_engine(
            spec,
            self.hook,
            tries=self._tries(context, attempt),
            attempt_id=attempt.attempt_id,
            spark_conn_id=self.spark_conn_id,
            job_breaker=self.circuit_breaker,
            fallback=fallback,
            masking_keys=keys,
        )
        if choice.routing is not None:
            routing = choice.routing
            self.hook.annotate_attempt(attempt.attempt_id, engine=routing.engine.value, routing=routing.to_dict())
        permit = choice.permit
        if choice.reused is not None:
            self.release_permits(attempt.permits)
            return choice, replace(attempt, permits=())
        self._running_engine = choice.engine
        if self._kill_requested:  # on_kill ran before the engine existed (a signal comes between any two lines)
            self.release_permits([permit] if permit else [])
            raise JobCancelledError(f"job {spec.job_name!r} was stopped before it started: nothing was read or written")
        return choice, replace(attempt, permits=(*attempt.permits, permit)) if permit else attempt

    def execute(self, context: Context) -> dict[str, Any]:
        if self.hook.settings.auto_migrate:
            self.hook.migrate()
        permits, circuit_open = self.acquire_permit()
        fallback = circuit_open is not None and self.on_circuit_open == "fallback"
        if fallback:
            self.log.warning("%s; falling back to the local engine", circuit_open)
            circuit_open = None
        replay = self.replay_of(context)
        spec_data = spec = invalid = None
        keys: dict[str, MaskingKey] = {}
        try:
            self.raise_render_error()
            spec_data = self._job_spec_data(context)
            spec = validate_job_spec(spec_data)
            # read (and registered with the secrets masker) before the spec is stored: it may quote a key
            keys = masking_keys(spec.processing_logic.masking_key_conn_ids())
        except Exception as err:  # anything raised building the spec is recorded as the attempt's failure below
            invalid = err
            if spec is None and spec_data is not None:
                register_keys(spec_data)
        if spec is not None and circuit_open is None:  # the breakers of the stores it reads and writes
            names = [name for name in storage.breaker_names(spec) if name != self.circuit_breaker]
            taken, circuit_open = self.acquire_permits(names, held=permits)
            permits = (*permits, *taken) if circuit_open is None else ()
        engine_name = EngineName.LOCAL.value if fallback else str(self.execution_engine)
        attempt = self.register_attempt(
            context,
            engine=engine_name,
            spec=spec_data,
            replay=replay,
            permits=permits,
            inputs=spec.input_locations() if spec else None,
        )
        started = time.monotonic()
        try:
            if circuit_open:
                raise circuit_open
            if invalid is not None:
                raise invalid
            assert spec is not None  # built, or its error raised above
            spec = self._with_check_values(context, spec)
            choice, attempt = self._started_engine(context, spec, attempt, keys, fallback)
            engine = choice.engine
            inject_spark_lineage(engine, context)
            self.log.info(
                "Running %s on the %s engine: %s -> %s", spec.job_name, engine.name, spec.input_path, spec.output_path
            )
            # a fallback to the local engine runs in the task, and a reused output is reported there
            if self.deferrable and not fallback and choice.reused is None:
                result = self._start_deferred(context, attempt, spec, engine)
            else:
                with self.hook.heartbeating(attempt.attempt_id):
                    result = engine.run(spec)
        except Exception as err:
            self.remember_for_lineage(spec, error=err)
            running = self._running_engine
            if isinstance(err, DataQualityError):
                self._record_checks(context, attempt, err.results, running.name if running else attempt.engine)
            self.record_failure(attempt, err, context, engine=running.name if running else None)
        return self._succeeded(context, attempt, spec, result, keys, time.monotonic() - started)

    def _with_check_values(self, context: Context, spec: JobSpec) -> JobSpec:
        """``spec`` with its checks' run-time values: the run's times (``freshness``) and, for ``row_count``'s
        ``max_change_pct``, the counts of the last successful run of this task, read from the registry."""
        if not spec.processing_logic.checks:
            return spec
        from airflow_provider_enterprise.check_results import CheckResults, needs_previous_counts, with_run_values
        from airflow_provider_enterprise.hooks.metadata import JobKey

        ti, dag_run = context["ti"], context.get("dag_run")
        run_after = getattr(dag_run, "run_after", None) or datetime.now(UTC)
        times = {"data_interval_end": context.get("data_interval_end") or run_after, "run_after": run_after}
        previous = None
        if needs_previous_counts(spec):
            key = JobKey(ti.dag_id, ti.run_id, ti.task_id, ti.map_index if ti.map_index is not None else -1)
            previous = CheckResults(self.hook).previous_counts(key)
        return with_run_values(spec, times=times, previous=previous)

    def _record_checks(
        self, context: Context, attempt: RunningAttempt, results: list[dict[str, Any]], engine: str
    ) -> None:
        """Store the attempt's check results in the registry, log them as a table and count their outcomes."""
        if not results:
            return
        from airflow_provider_enterprise.check_results import CheckResults, report
        from airflow_provider_enterprise.compiler.checks import results_table

        CheckResults(self.hook).record(attempt.attempt_id, results)
        self.log.info("Data-quality checks of %s:\n%s", self.job_name, results_table(results))
        warned = [r["name"] for r in results if r["outcome"] == "warned"]
        if warned:
            self.log.warning("Data-quality checks %s failed with severity warn: the output is published", warned)
        report(results, dag_id=context["ti"].dag_id, engine=engine)

    def _succeeded(
        self,
        context: Context,
        attempt: RunningAttempt,
        spec: JobSpec,
        result: JobResult,
        keys: dict[str, MaskingKey],
        task_seconds: float,
    ) -> dict[str, Any]:
        """Record the committed output's figures on the attempt; return the task's result (its XCom), masked."""
        self._record_checks(context, attempt, result.checks, result.engine)
        self.record_success(
            attempt,
            context,
            engine=result.engine,
            rows_in=result.rows_in,
            rows_out=result.rows_out,
            output_path=result.output_path,
            external_id=result.external_id,
            bad_rows=result.bad_rows,
            inputs=spec.input_locations(result.input_records),
        )
        self.log.info(
            "Job %s succeeded on %s: %s rows in, %s rows out in %.2f s; output at %s",
            spec.job_name,
            result.engine,
            result.rows_in,
            result.rows_out,
            result.duration_seconds,
            result.output_path,
        )
        self.remember_for_lineage(spec, result)
        assets.record_output_event(context, self.outlets, spec, result, attempt.job_id)
        versions = {conn_id: key.version for conn_id, key in keys.items()}
        if versions:
            self.log.info("Hashed with masking keys %s", ", ".join(f"{c} version {v}" for c, v in versions.items()))
        return redact(
            {
                "job_id": attempt.job_id,
                "attempt_id": attempt.attempt_id,
                "try_number": attempt.try_number,
                **result.to_dict(),
                "task_seconds": round(task_seconds, 3),
                **({"masking_key_versions": versions} if versions else {}),
            }
        )

    # -- deferred on a cluster ------------------------------------------------------------------------

    def _spark_engine_for(self, engine: Engine, spec: JobSpec) -> SparkEngine:
        from airflow_provider_enterprise.engines.spark import SparkEngine

        if not isinstance(engine, SparkEngine):
            raise PermanentJobError(
                f"deferrable=True needs the spark engine; job {spec.job_name!r} was set to run on {engine.name}"
            )
        return engine

    def _start_deferred(self, context: Context, attempt: RunningAttempt, spec: JobSpec, engine: Engine) -> JobResult:
        """
        Submit the job to the cluster (or re-attach to an earlier attempt's application) and defer; return the
        earlier attempt's result instead when its application already committed the output.
        """
        spark = self._spark_engine_for(engine, spec)
        tracker = spark.detached_tracker()
        start = DeferredStart.after(spec, attempt.job_id, self.earlier_application(context, attempt, tracker))
        if start.reused is not None:
            return start.reused.result(spec, 0.0, start.external_id)
        if start.external_id is None:
            external_id, run_id = spark.submit_detached(spec), spark.run_id
        else:
            external_id, run_id = start.external_id, None
        self.remember_application(context, attempt, external_id, tracker, spark.target.conn_id)
        deadline = attempt.started_at + spec.timeout if spec.timeout else None
        self.defer_to_application(
            tracker,
            external_id,
            attempt,
            conn_id=spark.target.conn_id,
            deadline=deadline,
            run_id=run_id,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """
        Resume after the triggerer saw the job's application end, the job's timeout pass or the status API fail
        (its event is a :class:`~airflow_provider_enterprise.triggers.spark.SparkApplicationEvent`).

        The spec is validated again from the rendered fields: the event cannot carry it, since Airflow stores
        events unmasked. The engine is not made again: the event names the status API that kills a timed-out
        application, and the outcome is read beside the output. The event's ``run_id`` is the run the application
        was submitted as; None for an earlier attempt's application this try re-attached to (its output is then
        accepted from any attempt of the job).
        """
        from airflow_provider_enterprise.engines.spark import application_outcome, job_result
        from airflow_provider_enterprise.triggers.spark import SparkApplicationEvent

        waited = SparkApplicationEvent.from_payload(event)
        settings = self.hook.settings.engines.spark
        attempt = RunningAttempt.from_dict(waited.attempt)
        external_id, run_id = waited.external_id, waited.run_id
        try:
            self.raise_render_error()
            spec = validate_job_spec(self._job_spec_data(context))  # the rendered fields, as execute saw them
            self.raise_unless_ended(
                waited,
                timeout_error=JobTimeoutError.of(spec.job_name, spec.timeout, f"waiting for application {external_id}"),
                tracker=lambda: spark_engine(settings, self.spark_conn_id, run_id).detached_tracker(),
            )
            if run_id:
                manifest = application_outcome(spec, run_id)
            else:  # an earlier attempt's application: its output is accepted from any attempt of the job
                manifest = commit.manifest if (commit := committed_by_job(spec, attempt.job_id)) else None
            if waited.status != "succeeded":
                raise application_failed(external_id, waited.state, waited.message)
            if manifest is None:
                raise SparkApplicationError(
                    f"application {external_id} ended {waited.state} but committed no output at {spec.output_path}"
                )
        except Exception as err:
            self.remember_for_lineage(None, error=err)
            if isinstance(err, DataQualityError):  # the application's checks failed: nothing was committed
                self._record_checks(context, attempt, err.results, "spark")
            self.record_failure(attempt, err, context)
        self.forget_application(context)
        self.log.info("Application %s of job %s ended %s", external_id, spec.job_name, waited.state)
        result = job_result(spec, external_id, manifest, time.time() - attempt.started_at)
        return self._succeeded(context, attempt, spec, result, {}, time.time() - attempt.started_at)
