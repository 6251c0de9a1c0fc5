"""
Settings of the provider.

Sources, later ones winning: built-in defaults, the YAML file named by ``ENTERPRISE_CONFIG``, the Airflow
config section ``[enterprise]`` (also settable as ``AIRFLOW__ENTERPRISE__<KEY>``), and the plain environment
variables ``DATABASE_URL``, ``SPARK_MASTER_URL``, ``LOG_LEVEL`` and ``ENVIRONMENT``. Unknown keys and bad
values raise :class:`InvalidSettings` naming the key.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

CONFIG_FILE_ENV = "ENTERPRISE_CONFIG"
AIRFLOW_SECTION = "enterprise"
DEFAULT_METADATA_CONN_ID = "enterprise_metadata_default"

#: Plain environment variables and the setting each one fills (dotted path).
ENV_VARS = {
    "DATABASE_URL": "database_url",
    "SPARK_MASTER_URL": "engines.spark.master",
    "LOG_LEVEL": "log_level",
    "ENVIRONMENT": "environment",
    "AIRFLOW_API_URL": "airflow_api.url",
    "AIRFLOW_API_USERNAME": "airflow_api.username",
    "AIRFLOW_API_PASSWORD": "airflow_api.password",
    "AIRFLOW_API_TOKEN": "airflow_api.token",
}

#: ``[enterprise]`` options and the setting each one fills.
AIRFLOW_OPTIONS = {
    "environment": "environment",
    "database_url": "database_url",
    "metadata_conn_id": "metadata_conn_id",
    "spark_master_url": "engines.spark.master",
    "log_level": "log_level",
    "auto_migrate": "auto_migrate",
    "embedded_db_dir": "embedded_db_dir",
    "local_queue": "engines.local.queue",
    "local_pool": "engines.local.pool",
    "spark_queue": "engines.spark.queue",
    "spark_pool": "engines.spark.pool",
    "jobs_retention_days": "retention.jobs_days",
    "audit_retention_days": "retention.audit_days",
    "dead_letter_retention_days": "dead_letters.retention_days",
    "purge_duty_cycle": "retention.purge_duty_cycle",
}


class InvalidSettings(ValueError):
    """Settings that failed validation; the message names each bad key."""


class Environment(StrEnum):
    """Deployment environment; ``production`` refuses development conveniences."""

    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_MEMORY = r"^\d+[kmgtKMGT]?$"


class _WorkerPlacement(_Section):
    """Where an engine's tasks run: the executor queue (Celery workers listen on queues) and the Airflow pool."""

    queue: str | None = Field(
        default=None,
        description="Executor queue of the engine's tasks unless a task sets its own; None: Airflow's default queue.",
    )
    pool: str | None = Field(
        default=None, description="Airflow pool of the engine's tasks unless a task sets its own; None: default_pool."
    )


class SparkEngineSettings(_WorkerPlacement):
    """The ``engines.spark`` section: where Spark jobs go and their default resources."""

    enabled: bool = True
    conn_id: str = Field(
        default="spark_default",
        description="Airflow connection of the cluster (type spark: spark-submit; spark_connect: Spark Connect).",
    )
    master: str = Field(
        default="local[*]", description="Used when the connection does not exist; sc://host:port for Spark Connect."
    )
    master_ui_url: str | None = Field(
        default=None,
        description="A standalone master's web UI (cores, applications); defaults to port 8080 of its host.",
    )
    executor_memory: str = Field(default="2g", pattern=_MEMORY)
    executor_cores: int = Field(default=2, ge=1)
    max_executors: int = Field(default=4, ge=1)
    driver_memory: str = Field(default="1g", pattern=_MEMORY)
    conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings for every application.")
    circuit_breaker: bool = Field(
        default=True,
        description="Count the Spark jobs of each connection into the breaker spark:<conn_id>: when it is open, "
        "auto routes to the local engine and execution_engine='spark' fails fast (or defers).",
    )
    object_stores: tuple[Literal["s3", "gs", "abfs"], ...] = Field(
        default=(),
        description="Object stores whose Hadoop connector is on Spark's classpath (s3: hadoop-aws, gs: gcs-connector, "
        "abfs: hadoop-azure); jobs on other stores run on the local engine.",
    )
    openlineage_inject_parent_job_info: bool | None = Field(
        default=None,
        description="Pass this task's OpenLineage run to Spark applications as their parent "
        "(spark.openlineage.parent*); None: Airflow's [openlineage] spark_inject_parent_job_info (default false).",
    )
    openlineage_inject_transport_info: bool | None = Field(
        default=None,
        description="Pass Airflow's OpenLineage HTTP transport to Spark applications (spark.openlineage.transport.*); "
        "None: Airflow's [openlineage] spark_inject_transport_info (default false).",
    )

    def openlineage_injection(self) -> tuple[bool, bool]:
        """Whether to inject the parent job and the transport, as the Spark provider decides (its settings)."""
        from airflow.configuration import conf

        parent, transport = self.openlineage_inject_parent_job_info, self.openlineage_inject_transport_info
        if parent is None:
            parent = conf.getboolean("openlineage", "spark_inject_parent_job_info", fallback=False)
        if transport is None:
            transport = conf.getboolean("openlineage", "spark_inject_transport_info", fallback=False)
        return parent, transport


class RoutingSettings(_Section):
    """
    The ``engines.routing`` section: the cost model of ``execution_engine='auto'``.

    Each engine's estimated time is ``fixed_seconds + rows / rate``; rows are estimated from the input's bytes.
    The defaults come from TPC-H Q1 over 72M rows of CSV on an idle 2-core machine (docs/benchmarks.md): the local
    engine's engine time, and the Spark engine on local[2] less Spark's measured fixed cost.
    """

    local_fixed_seconds: float = Field(default=0.2, ge=0)
    local_rows_per_second: float = Field(default=800_000, gt=0)
    spark_fixed_seconds: float = Field(default=8.5, ge=0, description="spark-submit and session start-up.")
    spark_rows_per_second_per_core: float = Field(default=185_000, gt=0)
    bytes_per_row: dict[str, float] = Field(
        default_factory=lambda: {"csv": 100.0, "json": 150.0, "parquet": 20.0},
        description="Bytes of input per row, by format, to estimate rows from file sizes.",
    )
    local_max_bytes: int | None = Field(
        default=None, ge=0, description="Inputs larger than this go to Spark; default: the free disk at the output."
    )


class LocalEngineSettings(_WorkerPlacement):
    """The ``engines.local`` section."""

    enabled: bool = True
    max_workers: int = Field(default=2, ge=1, description="DuckDB threads per job.")
    memory_limit: str | None = Field(default=None, description="DuckDB memory limit, such as '4GB'.")
    csv_proof_min_bytes: int | None = Field(
        default=None,
        ge=0,
        description="CSV inputs of at least this many bytes are first proven free of bad rows by Polars; by "
        "default (None) every CSV input is read in one scan that checks it (faster at scale 12, half the memory).",
    )


class RetryPolicySettings(_Section):
    """
    A named retry policy: every attempt counts, delays are exponential with jitter, in seconds. Jobs using it may
    move error classes out of the table of :mod:`airflow_provider_enterprise.resilience.errors`.
    """

    max_attempts: int = Field(ge=1, le=100)
    initial_delay: float = Field(gt=0)
    max_delay: float = Field(gt=0)
    transient_errors: tuple[str, ...] = Field(
        default=(),
        description="Error classes (names such as 'ConversionException', or dotted names; subclasses too) this "
        "policy retries whatever the table says.",
    )
    permanent_errors: tuple[str, ...] = Field(
        default=(), description="Error classes this policy fails at once whatever the table says."
    )

    @model_validator(mode="after")
    def _one_class_per_error(self) -> RetryPolicySettings:
        if both := sorted(set(self.transient_errors) & set(self.permanent_errors)):
            raise ValueError(f"{', '.join(both)} cannot be both transient_errors and permanent_errors")
        return self


#: The seed's named retry policies (max attempts / initial delay / max delay).
DEFAULT_RETRY_POLICIES = {
    "default": RetryPolicySettings(max_attempts=3, initial_delay=1, max_delay=60),
    "network_error": RetryPolicySettings(max_attempts=5, initial_delay=2, max_delay=120),
    "resource_exhausted": RetryPolicySettings(max_attempts=3, initial_delay=30, max_delay=300),
    "temporary_failure": RetryPolicySettings(max_attempts=2, initial_delay=5, max_delay=30),
    "critical_job": RetryPolicySettings(max_attempts=5, initial_delay=1, max_delay=30),
}


class CircuitBreakerSettings(_Section):
    """Thresholds of the circuit breakers (one breaker per protected resource)."""

    failure_threshold: int = Field(default=5, ge=1, description="Consecutive failures that open the breaker.")
    reset_timeout: float = Field(default=60, gt=0, description="Seconds open before probes are allowed.")
    half_open_max_probes: int = Field(default=1, ge=1, description="Probes granted per half-open period.")
    success_threshold: int = Field(default=1, ge=1, description="Probe successes that close the breaker.")
    probe_lease: float = Field(default=600, gt=0, description="Seconds before a silent probe's slot is reclaimed.")

    @model_validator(mode="after")
    def _reachable_close(self) -> CircuitBreakerSettings:
        if self.success_threshold > self.half_open_max_probes:
            raise ValueError(
                f"success_threshold ({self.success_threshold}) cannot exceed half_open_max_probes "
                f"({self.half_open_max_probes}): the breaker could never close"
            )
        return self


class AirflowApiSettings(_Section):
    """How the CLI reaches Airflow's REST API (replays, reconciliation); never Airflow's database."""

    url: str | None = Field(default=None, description="Defaults to Airflow's [api] base_url.")
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = Field(default=None, description="A JWT; used instead of username/password.")


class DeadLetterSettings(_Section):
    """The dead-letter queue."""

    retention_days: float = Field(
        default=30,
        gt=0,
        description="Dead letters in a purge_statuses status longer than this (since resolved, else created) are "
        "purged.",
    )
    purge_statuses: tuple[Literal["open", "replayed", "superseded", "discarded"], ...] = Field(
        default=("superseded", "discarded"),
        description="Statuses whose dead letters the registry purge deletes; open and replayed ones stay unless "
        "listed.",
    )
    stale_heartbeat_seconds: float = Field(
        default=300, gt=0, description="A running attempt silent this long is checked by reconciliation."
    )


class RetentionSettings(_Section):
    """
    The ``retention`` section: how long the registry purge (``registry purge``, the maintenance DAG) keeps rows.

    Dead letters go by ``dead_letters.retention_days``. Audit events describe the jobs' attempts, so they are never
    kept shorter than the jobs.
    """

    jobs_days: float = Field(
        default=90, gt=0, description="A job whose attempts all finished longer ago is purged with its attempts."
    )
    audit_days: float | None = Field(
        default=None, gt=0, description="Audit events recorded longer ago are purged; None keeps them for ever."
    )
    event_messages_days: float = Field(
        default=90,
        gt=0,
        description="Stream messages recorded longer ago are purged, except each stream's newest (its read position).",
    )
    purge_duty_cycle: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Share of a purge's time spent deleting: after each batch it pauses (1 - x) / x times as long "
        "as the batch took, leaving the registry's CPU and WAL to the jobs' writers; 1 never pauses.",
    )

    @model_validator(mode="after")
    def _audit_outlives_jobs(self) -> RetentionSettings:
        if self.audit_days is not None and self.audit_days < self.jobs_days:
            raise ValueError(
                f"audit_days ({self.audit_days:g}) cannot be shorter than jobs_days ({self.jobs_days:g}): "
                "audit events are kept at least as long as the jobs they describe"
            )
        return self


class EnginesSettings(_Section):
    """The ``engines`` section."""

    spark: SparkEngineSettings = SparkEngineSettings()
    local: LocalEngineSettings = LocalEngineSettings()
    routing: RoutingSettings = RoutingSettings()


class Settings(_Section):
    """All settings of the provider."""

    environment: Environment = Environment.DEVELOPMENT
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    database_url: SecretStr | None = None
    metadata_conn_id: str = DEFAULT_METADATA_CONN_ID
    auto_migrate: bool = True
    embedded_db_dir: Path | None = None
    engines: EnginesSettings = EnginesSettings()
    retry_policies: dict[str, RetryPolicySettings] = Field(default_factory=dict)
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()
    airflow_api: AirflowApiSettings = AirflowApiSettings()
    dead_letters: DeadLetterSettings = DeadLetterSettings()
    retention: RetentionSettings = RetentionSettings()

    def retry_policy(self, name: str) -> RetryPolicySettings:
        """Return the named retry policy (configured ones override the built-in ones)."""
        policies = {**DEFAULT_RETRY_POLICIES, **self.retry_policies}
        if name not in policies:
            raise InvalidSettings(f"unknown retry policy {name!r}; known: {', '.join(sorted(policies))}")
        return policies[name]


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _from_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise InvalidSettings(f"{CONFIG_FILE_ENV}={path!r}: no such file")
    data = yaml.safe_load(file.read_text()) or {}
    if not isinstance(data, dict):
        raise InvalidSettings(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _from_airflow() -> dict[str, Any]:
    try:
        from airflow.configuration import conf
    except ImportError:  # the settings are usable without Airflow (e.g. in tools)
        return {}
    values: dict[str, Any] = {}
    for option, dotted in AIRFLOW_OPTIONS.items():
        value = conf.get(AIRFLOW_SECTION, option, fallback=None)
        if value not in (None, ""):
            _set_path(values, dotted, value)
    return values


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, dotted in ENV_VARS.items():
        if environ.get(name):
            _set_path(values, dotted, environ[name])
    return values


def load_settings(environ: dict[str, str] | None = None, *, use_airflow: bool = True) -> Settings:
    """
    Load settings from every source.

    :param environ: environment to read (``os.environ`` by default).
    :param use_airflow: also read the Airflow ``[enterprise]`` section.
    :raises InvalidSettings: naming each unknown key or bad value and where it came from.
    """
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    sources = []
    if environ.get(CONFIG_FILE_ENV):
        data = _merge(data, _from_file(environ[CONFIG_FILE_ENV]))
        sources.append(environ[CONFIG_FILE_ENV])
    if use_airflow:
        data = _merge(data, _from_airflow())
    data = _merge(data, _from_env(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        where = f" (from {', '.join(sources + ['[enterprise]', 'environment'])})"
        lines = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            + ("" if isinstance(e.get("input"), dict) else f" (got {e.get('input')!r})")
            for e in err.errors()
        ]
        raise InvalidSettings("invalid enterprise settings" + where + ":\n  " + "\n  ".join(lines)) from None
