"""
The Spark engine: runs a job as the generic Spark application (spark-submit) or on a Spark Connect server.

Where jobs go is a :class:`SparkTarget`, resolved from the Airflow connection ``engines.spark.conn_id``
(type ``spark``: spark-submit to its master; type ``spark_connect``: a remote session) or, when that
connection does not exist, from ``engines.spark.master``. Either way the job runs
:func:`~airflow_provider_enterprise.spark_app.job.run_job`, which commits the output with a manifest; the
engine reads the manifest back. Each run has a run id (the application's name, the Connect operations' tag);
a retry given the run ids of earlier attempts re-attaches to one still running on a standalone master or, on a
local master, on this host (:mod:`.spark_runs`), interrupts an earlier attempt's Spark Connect operations, and
reuses a committed output instead of submitting the job twice.

A job on object stores runs with spark-submit in client deploy mode on a Spark whose classpath serves its stores
(``engines.spark.object_stores``): its connections' Hadoop configuration reaches the driver in a properties file
(:mod:`.spark_storage`), and the application commits the output through Hadoop's FileSystem with the object stores'
manifest commit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from airflow_provider_enterprise import exceptions
from airflow_provider_enterprise.clients.spark_status import (
    SparkApplicationTracker,
    SparkMasterStatusHook,
    master_ui_url,
)
from airflow_provider_enterprise.compiler.masking import KEYS_ENV, MaskingKey, dump_keys, require_keys
from airflow_provider_enterprise.config import SparkEngineSettings
from airflow_provider_enterprise.engines import spark_runs
from airflow_provider_enterprise.engines.base import JobResult
from airflow_provider_enterprise.engines.reuse import manifest_result
from airflow_provider_enterprise.engines.spark_storage import spark_storage, stores_of, unserved, write_properties
from airflow_provider_enterprise.exceptions import (
    EngineNotAvailableError,
    JobTimeoutError,
    MaskingKeyError,
    PermanentJobError,
    SparkApplicationError,
)
from airflow_provider_enterprise.output.commit import read_output_manifest
from airflow_provider_enterprise.spec import InvalidJobSpec, JobSpec, SparkResources

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The application spark-submit runs, and its log4j2 configuration (Spark's warnings only), shipped in the wheel.
APPLICATION = Path(__file__).resolve().parent.parent / "spark_app" / "main.py"
LOG_CONFIG = APPLICATION.with_name("log4j2.properties")

#: Where the generic (Python) application runs detached, for a deferred task to wait on.
DETACHED_BACKENDS = ("kubernetes", "yarn")

_LOCAL_MASTER = re.compile(r"^local(\[(\*|\d+)(,\s*\d+)?\])?$")


@dataclass(frozen=True)
class SparkTarget:
    """
    Where Spark jobs go.

    :param master: a spark-submit master (``local[*]``, ``spark://host:7077``, ``k8s://...``, ``yarn``) or a
        Spark Connect URL (``sc://host:15002/;token=...``: may hold a secret, so it is never logged).
    :param conn_id: the Airflow connection it came from, or None when it came from the settings.
    :param deploy_mode: ``client`` or ``cluster`` (spark-submit only).
    :param ui_url: a standalone master's web UI, for its cores and applications.
    """

    master: str
    conn_id: str | None = None
    deploy_mode: str | None = None
    ui_url: str | None = None

    @property
    def is_connect(self) -> bool:
        return self.master.startswith("sc://")

    @property
    def is_local(self) -> bool:
        """Whether the driver and executors run in a spark-submit on this host (``local[...]``)."""
        return bool(_LOCAL_MASTER.match(self.master))

    @property
    def display(self) -> str:
        """The master without credentials (safe to log and to store)."""
        if self.is_connect:
            parts = urlsplit(self.master)
            return f"sc://{parts.hostname}:{parts.port or 15002}"
        return self.master

    def cores(self) -> int | None:
        """Cores the target can give a job now: local[N]'s N, a standalone master's free cores, else None."""
        local = _LOCAL_MASTER.match(self.master)
        if local:
            threads = local.group(2)
            return (os.cpu_count() or 1) if threads in (None, "*") else int(threads)
        if self.ui_url:
            status = SparkMasterStatusHook(self.ui_url).status()
            return status.cores - status.cores_used
        return None


def resolve_target(settings: SparkEngineSettings, conn_id: str | None = None) -> SparkTarget:
    """Return where Spark jobs go: the connection ``conn_id`` (``engines.spark.conn_id``) or the settings' master."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn_id = conn_id or settings.conn_id
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        master = settings.master
        return SparkTarget(master, ui_url=master_ui_url(master, settings.master_ui_url))
    if conn.conn_type == "spark_connect":
        from airflow.providers.apache.spark.hooks.spark_connect import SparkConnectHook

        return SparkTarget(SparkConnectHook(conn_id).get_connection_url(), conn_id=conn_id)
    from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook

    hook = EnterpriseSparkSubmitHook(conn_id=conn_id, default_master=settings.master)
    return SparkTarget(
        hook.master,
        conn_id=conn_id,
        deploy_mode=hook.deploy_mode,
        ui_url=master_ui_url(hook.master, hook.master_ui_url or settings.master_ui_url),
    )


def resource_args(settings: SparkEngineSettings, resources: SparkResources) -> dict[str, Any]:
    """
    Return spark-submit's resource arguments for an application: the job's ``resources`` over the settings'
    defaults, dynamic allocation with shuffle tracking bounded by ``max_executors``, then the settings' and the
    job's ``conf``.
    """
    return {
        "conf": {
            "spark.dynamicAllocation.enabled": "true",
            "spark.dynamicAllocation.shuffleTracking.enabled": "true",
            "spark.dynamicAllocation.maxExecutors": str(resources.max_executors or settings.max_executors),
            **settings.conf,
            **resources.conf,
        },
        "executor_memory": resources.executor_memory or settings.executor_memory,
        "executor_cores": resources.executor_cores or settings.executor_cores,
        "driver_memory": resources.driver_memory or settings.driver_memory,
    }


def call_with_timeout(
    work: Callable[[], T], *, timeout: float | None, on_timeout: Callable[[], object], message: str
) -> T:
    """
    Run ``work`` in a thread and return its value (or raise its error); past ``timeout`` seconds call
    ``on_timeout`` (which must make ``work`` return), then raise :class:`JobTimeoutError` with ``message``.
    """
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(work())
        except BaseException as err:  # re-raised in the caller's thread
            errors.append(err)

    thread = threading.Thread(target=target, name="spark-job", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("%s: stopping it", message)
        on_timeout()
        thread.join(60)
        raise JobTimeoutError(message)
    if errors:
        raise errors[0]
    return values[0]


def job_result(spec: JobSpec, external_id: str, manifest: dict[str, Any], seconds: float) -> JobResult:
    """The figures of a committed Spark run, from its manifest."""
    return manifest_result(spec, manifest, seconds, external_id)


def result_path(spec: JobSpec, run_id: str) -> Path:
    """Where a cluster-mode driver writes run ``run_id``'s outcome: a hidden file beside the job's output."""
    output = Path(spec.output_path)
    return output.with_name(f".{output.name}.result-{run_id}.json")


def _error_from(result: dict[str, Any]) -> Exception:
    """Rebuild the application's error as this provider's exception of the same class (or a Spark one)."""
    name, message = result.get("error_class", ""), result.get("message", "")
    known = getattr(exceptions, name, None)
    if known is exceptions.DataQualityError:
        return exceptions.DataQualityError(message, result.get("checks"))
    if isinstance(known, type) and issubclass(known, exceptions.EnterpriseError):
        return known(message)
    if name == InvalidJobSpec.__name__:
        return InvalidJobSpec(message)
    if result.get("permanent"):
        return PermanentJobError(f"{name}: {message}")
    return SparkApplicationError(f"{name}: {message}")


def committed_by(
    spec: JobSpec, run_id: str, filesystems: Mapping[str, AbstractFileSystem] | None = None
) -> dict[str, Any] | None:
    """The manifest of ``spec``'s committed output when run ``run_id`` wrote it, else None."""
    manifest = read_output_manifest(spec.output_path, filesystems)
    return manifest if manifest and manifest.get("run_id") == run_id else None


def application_outcome(
    spec: JobSpec,
    run_id: str,
    *,
    result_file: Path | None = None,
    filesystems: Mapping[str, AbstractFileSystem] | None = None,
) -> dict[str, Any] | None:
    """
    Return the manifest of the output run ``run_id`` committed; raise the error the run reported instead; None
    when it left neither (a driver that died before reporting).

    :param result_file: where the run wrote its outcome; default: beside the output, as a cluster-mode driver
        does (that file is removed once read).
    :param filesystems: the filesystems of the object stores the job names, by store.
    """
    shared = result_file is None
    result_file = result_path(spec, run_id) if result_file is None else result_file
    if result_file.is_file():
        result: dict[str, Any] = json.loads(result_file.read_text())
        if shared:
            result_file.unlink(missing_ok=True)
        if result["status"] != "succeeded":
            raise _error_from(result)
        manifest: dict[str, Any] = result["manifest"]
        return manifest
    return committed_by(spec, run_id, filesystems)


class SparkEngine:
    """
    Run jobs on Spark.

    :param target: where they go (see :func:`resolve_target`).
    :param settings: the ``engines.spark`` settings (default resources and conf).
    :param run_id: this run's id: the application's name and the manifest's ``run_id``.
    :param previous_run_ids: run ids of the job's earlier attempts, latest first.
    :param on_submitted: called with the run id just before the job is submitted (to record it).
    :param poll_interval: seconds between status polls while re-attached to a running application.
    :param masking_keys: the keys ``mask`` hashes with, by connection id; they reach a spark-submit driver
        through its process environment only, never its arguments or conf.
    :param filesystems: the filesystems of the object stores the job names, by store (to read a committed
        output's manifest).
    """

    name = "spark"

    def __init__(
        self,
        *,
        target: SparkTarget,
        settings: SparkEngineSettings,
        run_id: str,
        previous_run_ids: Sequence[str] = (),
        on_submitted: Callable[[str], None] | None = None,
        poll_interval: float = 2.0,
        masking_keys: Mapping[str, MaskingKey] | None = None,
        filesystems: Mapping[str, AbstractFileSystem] | None = None,
    ) -> None:
        self.target = target
        self.filesystems = dict(filesystems or {})
        self.masking_keys = dict(masking_keys or {})
        self.settings = settings
        self.run_id = run_id
        self.previous_run_ids = list(previous_run_ids)
        self.on_submitted = on_submitted
        self.poll_interval = poll_interval
        self._kill: Callable[[], object] | None = None
        self._killed = threading.Event()
        self._deadline: float | None = None

    def run(self, spec: JobSpec) -> JobResult:
        """Run ``spec`` (or reuse an earlier attempt's run of it) and return the committed output's figures."""
        from airflow_provider_enterprise.engines.duckdb_inputs import with_sniffed_schemas

        started = time.monotonic()
        if why := unserved(stores_of(spec), self.target, self.settings):
            raise EngineNotAvailableError(f"execution_engine='spark': {why}")
        keys = require_keys(spec.processing_logic.masking_key_conn_ids(), self.masking_keys)
        deadline = self._deadline = time.time() + spec.timeout if spec.timeout else None
        reused = self._reuse(spec, deadline)
        if reused is not None:
            run_id, manifest = reused
        else:
            spec = with_sniffed_schemas(spec)  # the local engine's CSV types, and no inference scan on Spark
            run_id = self.run_id
            if self.on_submitted:
                self.on_submitted(run_id)
            log.info("Running %s on Spark at %s as %s", spec.job_name, self.target.display, run_id)
            manifest = self._connect(spec, keys) if self.target.is_connect else self._submit(spec, keys)
        return job_result(spec, run_id, manifest, time.monotonic() - started)

    def kill(self) -> None:
        """Stop the running application (its timeout passed, a user marked the task, or it was cleared)."""
        self._killed.set()
        if self._kill is not None:
            self._kill()

    # -- no duplicate applications ------------------------------------------------------------------

    def _committed_by(self, spec: JobSpec, run_id: str) -> dict[str, Any] | None:
        return committed_by(spec, run_id, self.filesystems)

    def _reuse(self, spec: JobSpec, deadline: float | None) -> tuple[str, dict[str, Any]] | None:
        """Return an earlier attempt's run id and manifest when its output is committed, waiting for it first if
        its application still runs on the master or its driver on this host; interrupt its Connect operations."""
        for run_id in self.previous_run_ids:
            manifest = self._committed_by(spec, run_id)
            if manifest is None and self.target.is_connect:
                if interrupted := spark_runs.interrupt_run(self.target.master, run_id):
                    log.info("Interrupted %s operations of earlier run %s on Spark Connect", len(interrupted), run_id)
                manifest = self._committed_by(spec, run_id)  # it may have committed just before
            elif manifest is None and self.target.is_local:
                driver = spark_runs.running_driver(run_id)
                if driver is not None:
                    log.info("Driver %s of earlier run %s still runs here: re-attaching to it", driver.pid, run_id)
                    if not driver.wait(deadline, self.poll_interval):
                        driver.stop()
                        raise JobTimeoutError.of(spec.job_name, spec.timeout, f"waiting for the driver of {run_id}")
                    manifest = self._committed_by(spec, run_id)
            elif manifest is None and self.target.ui_url:
                status = SparkMasterStatusHook(self.target.ui_url)
                if run_id in status.status().active_apps:
                    log.info("Application %s of an earlier attempt still runs: re-attaching to it", run_id)
                    if not status.wait_until_inactive(run_id, deadline=deadline, poll_interval=self.poll_interval):
                        raise JobTimeoutError.of(spec.job_name, spec.timeout, f"waiting for application {run_id}")
                    manifest = self._committed_by(spec, run_id)
            if manifest is not None:
                log.info("Output of %s is committed by run %s: reusing it, nothing is submitted", spec.job_name, run_id)
                return run_id, manifest
        return None

    # -- running ------------------------------------------------------------------------------------

    def _wait(self, spec: JobSpec, work: Callable[[], T], kill: Callable[[], object]) -> T:
        """Run ``work``; past the job's deadline (a re-attached wait used part of it) call ``kill`` and raise."""
        self._kill = kill
        try:
            remaining = None if self._deadline is None else max(0.0, self._deadline - time.time())
            message = str(JobTimeoutError.of(spec.job_name, spec.timeout))
            return call_with_timeout(work, timeout=remaining, on_timeout=self.kill, message=message)
        finally:
            self._kill = None

    def _hook(
        self,
        spec: JobSpec,
        keys: Mapping[str, MaskingKey],
        args: list[str],
        *,
        detached: bool = False,
        properties_file: Path | None = None,
    ) -> EnterpriseSparkSubmitHook:
        """
        The spark-submit hook that runs the generic application with ``args``, refusing a key it would expose; on a
        local master, its driver is recorded for a retry to find (:mod:`.spark_runs`).

        :param properties_file: Spark properties for the driver that must not be arguments (store credentials).
        """
        from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook

        submit_args = resource_args(self.settings, spec.spark_resources)
        submit_args["conf"].setdefault("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={LOG_CONFIG}")
        hook = EnterpriseSparkSubmitHook(
            conn_id=self.target.conn_id or self.settings.conn_id,
            default_master=self.target.master,
            name=self.run_id,
            application_args=args,
            env_vars={KEYS_ENV: dump_keys(keys)} if keys else None,
            detached=detached,
            properties_file=str(properties_file) if properties_file else None,
            on_started=self._record_driver if self.target.is_local else None,
            **submit_args,
        )
        if keys and not hook.env_stays_local:
            raise MaskingKeyError(
                f"job {spec.job_name!r} hashes columns, and a key reaches a driver on {self.target.display} "
                f"(deploy mode {hook.deploy_mode or 'client'}) only as a spark-submit argument: run it on the "
                "local engine, on local[*], a standalone master in client mode, or Spark Connect"
            )
        return hook

    def _forget_earlier_outcomes(self, spec: JobSpec) -> None:
        """Remove the outcome files the job's earlier runs left beside the output before this run is submitted
        (a try that timed out, was killed or lost the status API never read its own; this run supersedes them)."""
        for run_id in self.previous_run_ids:
            try:
                result_path(spec, run_id).unlink(missing_ok=True)
            except OSError as err:  # best effort: a stale file is clutter, not a wrong result
                log.warning("Could not remove the outcome file of earlier run %s: %s", run_id, err)

    def _cluster_args(self, spec: JobSpec) -> list[str]:
        """A cluster-mode driver's arguments: the spec inline, its outcome written beside the output."""
        spec_json = spec.model_dump_json(by_alias=True)
        return ["--spec-json", spec_json, "--run-id", self.run_id, "--result", str(result_path(spec, self.run_id))]

    def _submit(self, spec: JobSpec, keys: Mapping[str, MaskingKey]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowException

        workdir = Path(tempfile.mkdtemp(prefix="enterprise-spark-"))  # readable by this user only
        properties = None
        try:
            if self.target.deploy_mode == "cluster":  # the driver runs elsewhere: it reports beside the output
                self._forget_earlier_outcomes(spec)
                args, result_file = self._cluster_args(spec), None
            else:
                if stores_of(spec):  # the stores' credentials, in a file of the private working directory
                    storage = spark_storage(spec, workdir)
                    properties = write_properties(workdir / "storage.properties", storage.properties)
                    spec = storage.spark_spec(spec)
                (workdir / "spec.json").write_text(spec.model_dump_json(by_alias=True))
                result_file = workdir / "result.json"
                args = ["--spec", str(workdir / "spec.json"), "--run-id", self.run_id, "--result", str(result_file)]
            hook = self._hook(spec, keys, args, properties_file=properties)
            try:
                self._wait(spec, lambda: hook.submit(str(APPLICATION)), hook.on_kill)
                submit_error = None
            except AirflowException as err:
                submit_error = err
            if self._killed.is_set():
                raise SparkApplicationError(f"application {self.run_id} was killed")
            manifest = application_outcome(spec, self.run_id, result_file=result_file, filesystems=self.filesystems)
            if manifest is None:
                raise SparkApplicationError(
                    f"application {self.run_id} committed no output"
                    + (f": {submit_error}" if submit_error else f" at {spec.output_path}")
                )
            return manifest
        finally:
            spark_runs.forget_driver(self.run_id)
            shutil.rmtree(workdir, ignore_errors=True)

    def _record_driver(self, pid: int) -> None:
        spark_runs.record_driver(self.run_id, pid)

    def detached_tracker(self) -> SparkApplicationTracker:
        """
        Return a tracker of the target's cluster-mode applications, for a task that defers while its job runs.

        :raises PermanentJobError: the target runs the driver in the task (``local``, client mode, Spark Connect)
            or refuses a Python driver (a standalone master in cluster mode).
        """
        from airflow_provider_enterprise.hooks.spark_submit import EnterpriseSparkSubmitHook

        refusal = f"deferrable=True needs Kubernetes or YARN in cluster deploy mode; {self.target.display}"
        if self.target.is_connect:
            raise PermanentJobError(f"{refusal} is Spark Connect, whose jobs run in the task")
        hook = EnterpriseSparkSubmitHook(
            conn_id=self.target.conn_id or self.settings.conn_id, default_master=self.target.master, detached=True
        )
        if hook.backend == "standalone":
            raise PermanentJobError(f"{refusal} is a standalone master, which refuses Python drivers in cluster mode")
        if hook.backend not in DETACHED_BACKENDS:
            raise PermanentJobError(
                f"{refusal} in deploy mode {hook.deploy_mode or 'client'} runs the driver in the task"
            )
        return hook.tracker()

    def submit_detached(self, spec: JobSpec) -> str:
        """
        Submit ``spec`` as run :attr:`run_id` to Kubernetes or YARN in cluster deploy mode (see
        :meth:`detached_tracker`) and return the application's id once the cluster accepted it, without waiting
        for it to end. The driver reports beside the output (:meth:`outcome`).
        """
        from airflow_provider_enterprise.engines.duckdb_inputs import with_sniffed_schemas

        keys = require_keys(spec.processing_logic.masking_key_conn_ids(), self.masking_keys)
        spec = with_sniffed_schemas(spec)
        hook = self._hook(spec, keys, self._cluster_args(spec), detached=True)
        self._forget_earlier_outcomes(spec)
        log.info("Submitting %s to %s in cluster mode as %s", spec.job_name, self.target.display, self.run_id)
        external_id = hook.submit_detached(str(APPLICATION))
        log.info("Spark accepted %s as %s", self.run_id, external_id)
        return external_id

    def _connect(self, spec: JobSpec, keys: Mapping[str, MaskingKey]) -> dict[str, Any]:
        try:
            from pyspark.sql import SparkSession
        except ImportError as err:
            raise EngineNotAvailableError(
                f"Spark Connect needs the Connect client: install airflow-provider-enterprise[spark] ({err})"
            ) from None
        from airflow_provider_enterprise.spark_app.job import run_job

        if spec.spark_resources != type(spec.spark_resources)():
            log.warning("spark_resources do not apply on Spark Connect: the server's resources are used")
        with spark_runs.connect_mode_contained():
            # the session's id derives from the run id: a retry joins it to interrupt what this run left running
            session = SparkSession.builder.remote(spark_runs.with_session(self.target.master, self.run_id)).create()

            def work() -> dict[str, Any]:
                session.addTag(self.run_id)  # tags belong to the thread that adds them
                return run_job(session, spec, run_id=self.run_id, cancelled=self._killed, masking_keys=keys)

            try:
                return self._wait(spec, work, lambda: session.interruptTag(self.run_id))
            except JobTimeoutError:
                raise
            except Exception:
                if self._killed.is_set():
                    raise SparkApplicationError(f"Spark Connect operations {self.run_id} were interrupted") from None
                raise
            finally:
                session.stop()
