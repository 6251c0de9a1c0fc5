"""
Make the engine that runs a job: its ``execution_engine`` or, for ``auto``, the one routing chooses
(:mod:`.routing`); for Spark, the target it resolves to and the permit of that connection's breaker
``spark:<conn_id>``; the local engine when the job falls back to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_enterprise import storage
from airflow_provider_enterprise.engines.reuse import Commit, ReusedOutput, Tries, committed_earlier, run_id
from airflow_provider_enterprise.exceptions import EngineNotAvailableError
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker, CircuitOpenError, Permit
from airflow_provider_enterprise.spec import EngineName, JobSpec

if TYPE_CHECKING:
    from airflow_provider_enterprise.compiler.masking import MaskingKey
    from airflow_provider_enterprise.config import SparkEngineSettings
    from airflow_provider_enterprise.engines.base import Engine
    from airflow_provider_enterprise.engines.routing import RoutingDecision
    from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineChoice:
    """
    The engine that runs a job, the permit of its Spark connection's breaker, routing's decision (``auto``), and
    the earlier try's commit that a retry reuses (its engine is then a :class:`~.reuse.ReusedOutput`).
    """

    engine: Engine
    permit: Permit | None = None
    routing: RoutingDecision | None = None
    reused: Commit | None = None


def spark_target(settings: SparkEngineSettings, conn_id: str | None) -> tuple[SparkTarget | None, str | None]:
    """Return the Spark target of connection ``conn_id`` and why Spark cannot take jobs (None when it can)."""
    if not settings.enabled:
        return None, "the spark engine is disabled (engines.spark.enabled)"
    try:
        from airflow_provider_enterprise.engines.spark import resolve_target

        return resolve_target(settings, conn_id), None
    except ImportError as err:
        return None, f"Spark is not installed: install airflow-provider-enterprise[spark] ({err})"


def spark_engine(settings: SparkEngineSettings, conn_id: str | None, name: str | None) -> SparkEngine:
    """The Spark engine of connection ``conn_id`` for run ``name`` (a resumed task's: nothing is submitted)."""
    from airflow_provider_enterprise.engines.spark import SparkEngine

    target, unavailable = spark_target(settings, conn_id)
    if unavailable or target is None:
        raise EngineNotAvailableError(f"execution_engine='spark': {unavailable}")
    return SparkEngine(target=target, settings=settings, run_id=name or "")


def select_engine(
    spec: JobSpec,
    hook: EnterpriseMetadataHook,
    *,
    tries: Tries,
    attempt_id: int,
    spark_conn_id: str | None = None,
    job_breaker: str | None = None,
    fallback: bool = False,
    masking_keys: Mapping[str, MaskingKey] | None = None,
) -> EngineChoice:
    """
    Make the engine that runs try ``tries.try_number`` of ``spec``'s job (registered as attempt ``attempt_id``);
    for a retry whose series committed the output already, one that reports that commit and publishes nothing
    (:func:`~.reuse.committed_earlier`).

    :param hook: the registry: the breakers, and the job's earlier runs a Spark run re-attaches to.
    :param job_breaker: the job's own breaker (asked already: not asked again when it is the connection's).
    :param fallback: run on the local engine whatever ``execution_engine`` says (the job's breaker is open).
    :param masking_keys: the keys its ``mask`` transformations hash with, by connection id.
    :raises CircuitOpenError: ``execution_engine='spark'`` while the connection's breaker is open.
    :raises EngineNotAvailableError: ``execution_engine='spark'`` while Spark cannot take the job.
    """
    settings = hook.settings
    engine = EngineName.LOCAL if fallback else spec.execution_engine
    filesystems = storage.filesystems(spec, spec.storage_conn_id)
    commit = committed_earlier(spec, tries, filesystems)
    if commit is not None:
        log.info("Output of %s is committed by run %s of an earlier try: reusing it", spec.job_name, commit.run_id)
        return EngineChoice(ReusedOutput(commit), reused=commit)
    name = run_id(tries.job_id, tries.try_number)
    target, unavailable = (
        (None, None) if engine is EngineName.LOCAL else spark_target(settings.engines.spark, spark_conn_id)
    )
    if target is not None and not unavailable:  # a spark target that cannot read the job's stores
        from airflow_provider_enterprise.engines.spark_storage import unserved

        unavailable = unserved(filesystems, target, settings.engines.spark)
    permit = breaker_open = None
    breaker = f"spark:{target.conn_id or settings.engines.spark.conn_id}" if target is not None else None
    if breaker and not unavailable and settings.engines.spark.circuit_breaker and breaker != job_breaker:
        try:  # the job's own breaker of that name was asked already
            permit = CircuitBreaker(hook, breaker).acquire()
        except CircuitOpenError as err:
            breaker_open, unavailable = err, str(err)
    decision = None
    if engine is EngineName.AUTO:
        from airflow_provider_enterprise.engines.routing import choose_engine

        spark_cores = None
        if target is not None:
            try:
                spark_cores = target.cores()
            except Exception as err:  # an unreachable master sends the job to the local engine
                unavailable = f"Spark master {target.display} is unreachable ({err})"
        decision = choose_engine(
            spec, settings, spark_cores=spark_cores, spark_unavailable=unavailable, filesystems=filesystems
        )
        log.info("Routing %s to the %s engine: %s", spec.job_name, decision.engine.value, decision.reason)
        engine = decision.engine
    if engine is EngineName.LOCAL:
        from airflow_provider_enterprise.engines.local import LocalEngine

        if permit is not None:  # routed away from Spark: its breaker is not called
            CircuitBreaker(hook, permit.name).release(permit)
        local = LocalEngine.from_settings(
            settings.engines.local, masking_keys=masking_keys, filesystems=filesystems, run_id=name
        )
        return EngineChoice(local, None, decision)
    if breaker_open is not None:
        raise breaker_open
    if unavailable or target is None:
        raise EngineNotAvailableError(f"execution_engine='spark': {unavailable}")
    from airflow_provider_enterprise.engines.spark import SparkEngine

    spark = SparkEngine(
        target=target,
        settings=settings.engines.spark,
        run_id=name,
        previous_run_ids=hook.external_ids(tries.job_id, before_try=tries.try_number),
        on_submitted=lambda submitted: hook.annotate_attempt(attempt_id, external_id=submitted),
        masking_keys=masking_keys,
        filesystems=filesystems,
    )
    return EngineChoice(spark, permit, decision)
