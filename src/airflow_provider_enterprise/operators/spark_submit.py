"""Run a custom Spark application as a registered job: client mode in the task, cluster mode waited for or deferred."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.exceptions import JobTimeoutError, PermanentJobError
from airflow_provider_enterprise.operators.base import EnterpriseJobOperator, RunningAttempt
from airflow_provider_enterprise.operators.cluster_application import ClusterApplicationMixin, application_failed
from airflow_provider_enterprise.spec import SparkResources

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_enterprise.clients.spark_status import ApplicationStatus, SparkApplicationTracker
    from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook
    from airflow_provider_enterprise.lineage import JobLineage

#: Applications a standalone master refuses to run in cluster deploy mode.
_INTERPRETED = (".py", ".R", ".r")


class EnterpriseSparkSubmitOperator(ClusterApplicationMixin, EnterpriseJobOperator):
    """
    Submit a custom Spark application (a JAR or a PySpark file) through spark-submit, as a job in the registry.

    In client mode (``local[*]``, a standalone master) the driver runs inside the task. In cluster mode
    (``deploy_mode='cluster'``: JVM applications on a standalone master, any application on Kubernetes or
    YARN) the task submits the application and waits for the cluster to report its end: polling in the task,
    or with ``deferrable=True`` in the triggerer, holding no worker slot. A retry first looks at the
    application of the job's earlier attempt: still running, it re-attaches; finished successfully, it
    succeeds without submitting again; otherwise it submits anew.

    :param application: the JAR or Python file to run. (templated)
    :param application_args: its arguments. (templated)
    :param java_class: the main class of a JAR.
    :param conf: ``spark.*`` settings of this application. (templated)
    :param spark_resources: ``executor_memory``, ``executor_cores``, ``max_executors``, ``driver_memory`` and
        ``conf``; unset ones come from ``engines.spark``.
    :param py_files: more Python files for a PySpark application, comma-separated. (templated)
    :param jars: more JARs for the classpath, comma-separated. (templated)
    :param spark_conn_id: Airflow connection of the cluster (type ``spark``); default ``engines.spark.conn_id``,
        and without that connection ``engines.spark.master``.
    :param deploy_mode: ``client`` or ``cluster``; default: the connection's ``deploy-mode`` extra.
    :param deferrable: wait for a cluster-mode application in the triggerer (needs ``deploy_mode='cluster'``).
    :param timeout: seconds after which the application is killed and the try fails.
    :param poll_interval: seconds between status polls of a cluster-mode application.
    :param job_name: name of the job in the registry; default: the task id.
    :param kwargs: the job's registry, retry and breaker settings (``job_type``, ``job_data``, ``priority``,
        ``metadata_conn_id``, ``retry_policy_name``, ``circuit_breaker``, ``on_circuit_open``): see
        :class:`~airflow_provider_enterprise.operators.base.EnterpriseJobOperator`.
    """

    template_fields: Sequence[str] = ("application", "application_args", "conf", "py_files", "jars", "job_data")
    template_fields_renderers = {"conf": "json", "job_data": "json"}
    ui_color = "#fdf1e8"

    @classmethod
    def placement_engine(cls, execution_engine: Any) -> str:
        return "spark"

    def __init__(
        self,
        *,
        application: str,
        application_args: list[str] | None = None,
        java_class: str | None = None,
        conf: dict[str, str] | None = None,
        spark_resources: dict[str, Any] | None = None,
        py_files: str | None = None,
        jars: str | None = None,
        spark_conn_id: str | None = None,
        deploy_mode: str | None = None,
        deferrable: bool = False,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        job_name: str | None = None,
        job_type: str = "batch_processing",
        **kwargs: Any,
    ) -> None:
        if deploy_mode not in (None, "client", "cluster"):
            raise ValueError(f"deploy_mode must be 'client' or 'cluster', got {deploy_mode!r}")
        if deferrable and deploy_mode != "cluster":
            raise ValueError(
                "deferrable=True needs deploy_mode='cluster': a client-mode driver runs inside the task, so "
                "there is nothing for the triggerer to wait for (use deferrable=False, or cluster mode)"
            )
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        super().__init__(job_name=job_name or kwargs["task_id"], job_type=job_type, **kwargs)
        self.application = application
        self.application_args = application_args or []
        self.java_class = java_class
        self.conf = conf or {}
        self.spark_resources = SparkResources.model_validate(spark_resources or {})
        self.py_files = py_files
        self.jars = jars
        self.spark_conn_id = spark_conn_id
        self.deploy_mode = deploy_mode
        self.deferrable = deferrable
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._submit_hook: EnterpriseSparkSubmitHook | None = None
        self._external_id: str | None = None

    # -- the submission -------------------------------------------------------------------------------

    def _submission(self) -> dict[str, Any]:
        """The rendered submission, as recorded on the attempt (and replayed from a dead letter)."""
        return {
            "application": self.application,
            "application_args": [str(arg) for arg in self.application_args],
            "java_class": self.java_class,
            "conf": {str(k): str(v) for k, v in self.conf.items()},
            "spark_resources": self.spark_resources.model_dump(exclude_defaults=True),
            "py_files": self.py_files,
            "jars": self.jars,
            "deploy_mode": self.deploy_mode,
        }

    @cached_property
    def _conn_id(self) -> str:
        return self.spark_conn_id or self.hook.settings.engines.spark.conn_id

    def _hook_for(
        self, submission: dict[str, Any], name: str, context: Context | None = None
    ) -> EnterpriseSparkSubmitHook:
        """The spark-submit hook of ``submission``; with the task's ``context``, its conf gets the OpenLineage
        parent job and transport as ``engines.spark.openlineage_inject_*`` say (not recorded on the attempt)."""
        from airflow_provider_enterprise.engines.spark import resource_args
        from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook
        from airflow_provider_enterprise.lineage import spark_lineage_conf

        settings = self.hook.settings.engines.spark
        args = resource_args(settings, SparkResources.model_validate(submission["spark_resources"]))
        args["conf"].update(submission["conf"])
        if context is not None:
            parent_job, transport = settings.openlineage_injection()
            args["conf"] = spark_lineage_conf(args["conf"], context, parent_job=parent_job, transport=transport)
        return EnterpriseSparkSubmitHook(
            conn_id=self._conn_id,
            default_master=settings.master,
            deploy_mode=submission["deploy_mode"],
            java_class=submission["java_class"],
            py_files=submission["py_files"],
            jars=submission["jars"],
            application_args=submission["application_args"],
            name=name,
            detached=True,
            **args,
        )

    def _check_mode(self, hook: EnterpriseSparkSubmitHook, application: str) -> None:
        """Refuse, as permanent errors, the combinations Spark itself would refuse or that cannot be waited for."""
        if hook.deploy_mode == "cluster" and hook.backend is None:
            raise PermanentJobError(f"cluster deploy mode is not available on master {hook.master!r}")
        if hook.backend == "standalone" and application.endswith(_INTERPRETED):
            raise PermanentJobError(
                f"a standalone master refuses cluster deploy mode for {application!r} (Python and R applications): "
                "use client mode or Spark Connect, or a JVM application"
            )
        if self.deferrable and hook.backend is None:
            raise PermanentJobError(f"deferrable=True needs cluster deploy mode; {hook.master!r} runs the driver here")

    # -- running --------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        if self.hook.settings.auto_migrate:
            self.hook.migrate()
        permits, circuit_open = self.acquire_permit()
        replay = self.replay_of(context)
        submission = replay["spec"] if replay else self._submission()
        attempt = self.register_attempt(context, engine="spark", spec=submission, replay=replay, permits=permits)
        deadline = time.time() + self.timeout if self.timeout else None
        try:
            self.raise_render_error()
            if circuit_open:
                raise circuit_open
            name = f"enterprise-{attempt.job_id}-{attempt.try_number}-{uuid.uuid4().hex[:8]}"
            hook = self._submit_hook = self._hook_for(submission, name, context)
            self._check_mode(hook, submission["application"])
            if hook.backend is None:
                self._run_client_mode(attempt, hook, submission["application"], name)
                status = None
            else:
                tracker = hook.tracker()
                status = self.earlier_application(context, attempt, tracker)
                if status is None or not status.succeeded:
                    external_id = status.external_id if status else self._submit(hook, submission["application"])
                    self.remember_application(context, attempt, external_id, tracker, self._conn_id)
                    if self.deferrable:
                        self.defer_to_application(
                            tracker, external_id, attempt, conn_id=self._conn_id, deadline=deadline
                        )
                    status = self._poll(tracker, external_id, attempt, deadline)
        except Exception as err:
            if isinstance(err, JobTimeoutError) and self._external_id:
                self._kill_application(self._external_id)
            self.record_failure(attempt, err, context)
        if status is None:
            self._external_id = name  # the client-mode application's name, for lineage
            self.record_success(attempt, context, external_id=name)
            return {**attempt.to_dict(), "external_id": name, "state": "FINISHED"}
        return self._finish(context, attempt, status.external_id, status.state, status.succeeded, status.message)

    def _run_client_mode(
        self, attempt: RunningAttempt, hook: EnterpriseSparkSubmitHook, application: str, name: str
    ) -> None:
        """Run the driver in this process, killing spark-submit past the timeout."""
        from airflow_provider_enterprise.engines.spark import call_with_timeout

        self.hook.annotate_attempt(attempt.attempt_id, external_id=name)
        self.log.info("Running %s on %s as %s", application, hook.master, name)
        with self.hook.heartbeating(attempt.attempt_id):
            call_with_timeout(
                lambda: hook.submit(application),
                timeout=self.timeout,
                on_timeout=hook.on_kill,
                message=str(JobTimeoutError.of(self.job_name, self.timeout)),
            )

    def _submit(self, hook: EnterpriseSparkSubmitHook, application: str) -> str:
        self.log.info("Submitting %s to %s in cluster mode", application, hook.master)
        external_id = hook.submit_detached(application)
        self.log.info("Spark accepted the application as %s", external_id)
        return external_id

    def _poll(
        self, tracker: SparkApplicationTracker, external_id: str, attempt: RunningAttempt, deadline: float | None
    ) -> ApplicationStatus:
        """Wait in the task for the application to end."""
        with self.hook.heartbeating(attempt.attempt_id):
            while True:
                status = tracker.status(external_id)
                if not status.active:
                    return status
                if deadline is not None and time.time() >= deadline:
                    raise JobTimeoutError.of(self.job_name, self.timeout)
                time.sleep(self.poll_interval)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """
        Resume after the triggerer saw the application end, the deadline pass or the status API fail (its event
        is a :class:`~airflow_provider_enterprise.triggers.spark.SparkApplicationEvent`).
        """
        from airflow_provider_enterprise.triggers.spark import SparkApplicationEvent

        waited = SparkApplicationEvent.from_payload(event)
        attempt = RunningAttempt.from_dict(waited.attempt)
        self._external_id = waited.external_id
        try:
            self.raise_render_error()
            self.raise_unless_ended(
                waited,
                timeout_error=JobTimeoutError.of(self.job_name, self.timeout),
                tracker=self._submission_tracker,
            )
        except Exception as err:
            self.record_failure(attempt, err, context)
        return self._finish(
            context, attempt, waited.external_id, waited.state, waited.status == "succeeded", waited.message
        )

    def _finish(
        self,
        context: Context,
        attempt: RunningAttempt,
        external_id: str,
        state: str | None,
        succeeded: bool,
        message: str,
    ) -> dict[str, Any]:
        """Record the ended application's outcome: success, or a failure that goes through retries."""
        self._external_id = external_id
        if not succeeded:
            self.record_failure(attempt, application_failed(external_id, state, message), context)
        self.record_success(attempt, context, external_id=external_id)
        self.forget_application(context)
        self.log.info("Application %s of job %s ended %s", external_id, self.job_name, state)
        return {**attempt.to_dict(), "external_id": external_id, "state": state}

    def _submission_tracker(self) -> SparkApplicationTracker:
        """The tracker of the cluster this task's submission goes to."""
        return (self._submit_hook or self._hook_for(self._submission(), name=self.task_id)).tracker()

    def _kill_application(self, external_id: str) -> None:
        """Kill the cluster-mode application being waited for (best effort: it may have ended meanwhile)."""
        self.kill_application(self._submission_tracker, external_id)

    def get_openlineage_facets_on_start(self) -> JobLineage:
        """No datasets: the application's own OpenLineage integration reports them, below this task's run as its
        parent when ``engines.spark.openlineage_inject_parent_job_info`` is set."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> JobLineage:
        """The ``externalQuery`` facet naming the application (its Spark id, or the name it ran under)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_provider_enterprise.lineage import application_facets

        return OperatorLineage(run_facets=application_facets(self._external_id))

    get_openlineage_facets_on_failure = get_openlineage_facets_on_complete

    def on_kill(self) -> None:
        """Stop the application when the task is marked failed or cleared while it runs in the task."""
        if self._external_id and self._submit_hook is not None and self._submit_hook.backend is not None:
            self._kill_application(self._external_id)
        elif self._submit_hook is not None:
            self._submit_hook.on_kill()
