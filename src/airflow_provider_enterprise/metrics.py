"""
This provider's StatsD metrics: every name, type and tag in one place, emitted through Airflow's metrics layer.

Metrics go wherever Airflow's ``[metrics]`` section sends them (``statsd_on``, ``statsd_host``, ``statsd_port``,
``statsd_prefix``; tags as InfluxDB-style ``name,tag=value`` with ``statsd_influxdb_enabled``), so a task, a
trigger and the CLI report to the same StatsD server as Airflow itself. ``deploy/statsd-mapping.yml`` maps the
names to the Prometheus names below for statsd_exporter. Emitting never fails a job.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    """
    One metric.

    :param name: the StatsD name, under Airflow's ``statsd_prefix`` (``airflow.`` by default).
    :param kind: ``counter``, ``gauge`` or ``timer`` (milliseconds; statsd_exporter reports seconds).
    :param prometheus: the name ``deploy/statsd-mapping.yml`` gives it in Prometheus.
    :param tags: the tags it carries (labels in Prometheus).
    :param description: what it counts or measures.
    """

    name: str
    kind: Literal["counter", "gauge", "timer"]
    prometheus: str
    tags: tuple[str, ...]
    description: str


JOBS = Metric(
    "enterprise.jobs",
    "counter",
    "orchestrator_jobs_total",
    ("status", "engine", "job_type", "dag_id"),
    "Job attempts that ended, by status (succeeded, failed) and engine.",
)
JOB_DURATION = Metric(
    "enterprise.job_duration",
    "timer",
    "orchestrator_jobs_duration_seconds",
    ("status", "engine", "job_type", "dag_id"),
    "Wall time of a job attempt, from its registration to its end (a deferred wait included).",
)
ACTIVE_JOBS = Metric(
    "enterprise.active_jobs",
    "gauge",
    "orchestrator_active_jobs",
    ("engine",),
    "Job attempts running or deferred now (+1 when one starts, -1 when it ends).",
)
RECORDS_PROCESSED = Metric(
    "enterprise.records_processed",
    "counter",
    "orchestrator_records_processed_total",
    ("engine", "dag_id"),
    "Input records of succeeded job attempts.",
)
RECORDS_WRITTEN = Metric(
    "enterprise.records_written",
    "counter",
    "orchestrator_records_written_total",
    ("engine", "dag_id"),
    "Output rows of succeeded job attempts.",
)
CHECKS = Metric(
    "enterprise.checks",
    "counter",
    "orchestrator_checks_total",
    ("outcome", "check", "check_type", "severity", "dag_id", "engine"),
    "Data-quality check results of ended job attempts, by outcome (passed, warned, failed).",
)
BAD_ROWS = Metric(
    "enterprise.bad_rows",
    "counter",
    "orchestrator_bad_rows_total",
    ("engine", "dag_id"),
    "Malformed input rows found (quarantined or dropped) by succeeded job attempts.",
)
RETRIES = Metric(
    "enterprise.retries",
    "counter",
    "orchestrator_retries_total",
    ("engine", "dag_id", "error_class"),
    "Failed job attempts that Airflow retries.",
)
DEAD_LETTERS = Metric(
    "enterprise.dead_letters",
    "counter",
    "orchestrator_dead_letters_total",
    ("dag_id", "error_class"),
    "Jobs that failed for good and were dead-lettered.",
)
REPLAYS = Metric(
    "enterprise.dead_letter_replays",
    "counter",
    "orchestrator_dead_letter_replays_total",
    ("dag_id",),
    "Dead letters replayed (a new DAG run triggered).",
)
CIRCUIT_STATE = Metric(
    "enterprise.circuit_state",
    "gauge",
    "orchestrator_circuit_state",
    ("breaker",),
    "A circuit breaker's state after its last change: 0 closed, 1 half-open, 2 open.",
)
SPARK_CLUSTER_UTILIZATION = Metric(
    "enterprise.spark_cluster_utilization",
    "gauge",
    "spark_cluster_utilization",
    ("master",),
    "Cores in use over cores alive on a standalone Spark master, from 0 to 1, when it was last read.",
)
SPARK_STATUS_ERRORS = Metric(
    "enterprise.spark_status_errors",
    "counter",
    "orchestrator_spark_status_errors_total",
    ("backend",),
    "Failed polls of a cluster-mode application's status API by the triggerer (standalone, kubernetes, yarn).",
)

#: Every metric, for the mapping file's test and the docs.
ALL: tuple[Metric, ...] = (
    JOBS,
    JOB_DURATION,
    ACTIVE_JOBS,
    RECORDS_PROCESSED,
    RECORDS_WRITTEN,
    BAD_ROWS,
    CHECKS,
    RETRIES,
    DEAD_LETTERS,
    REPLAYS,
    CIRCUIT_STATE,
    SPARK_CLUSTER_UTILIZATION,
    SPARK_STATUS_ERRORS,
)

#: Values of :data:`CIRCUIT_STATE`.
CIRCUIT_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}


#: Characters a tag value may hold on the StatsD line (``:`` ends the name, ``,`` and ``=`` separate tags).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _tags(metric: Metric, tags: dict[str, Any]) -> dict[str, str]:
    unknown = set(tags) - set(metric.tags)
    if unknown:
        raise ValueError(f"metric {metric.name} has no tag(s) {', '.join(sorted(unknown))}")
    return {key: _UNSAFE.sub("_", str(value)) for key, value in tags.items() if value is not None}


def _emit(method: str, metric: Metric, value: Any, tags: dict[str, Any], **kwargs: Any) -> None:
    tagged = _tags(metric, tags)  # a wrong tag is a programming error: raise it in tests
    try:
        from airflow.sdk.observability import stats

        getattr(stats, method)(metric.name, value, tags=tagged, **kwargs)
    except Exception:  # metrics never fail a job
        log.debug("Could not emit %s", metric.name, exc_info=True)


def incr(metric: Metric, count: int = 1, **tags: Any) -> None:
    """Add ``count`` to a counter."""
    if metric.kind != "counter":
        raise ValueError(f"{metric.name} is a {metric.kind}, not a counter")
    if count:
        _emit("incr", metric, count, tags)


def gauge(metric: Metric, value: float, *, delta: bool = False, **tags: Any) -> None:
    """Set a gauge (or move it by ``value`` with ``delta=True``)."""
    if metric.kind != "gauge":
        raise ValueError(f"{metric.name} is a {metric.kind}, not a gauge")
    _emit("gauge", metric, value, tags, delta=delta)


def timing(metric: Metric, seconds: float, **tags: Any) -> None:
    """Record a duration (sent in milliseconds, as StatsD timers are)."""
    if metric.kind != "timer":
        raise ValueError(f"{metric.name} is a {metric.kind}, not a timer")
    _emit("timing", metric, seconds * 1000.0, tags)
