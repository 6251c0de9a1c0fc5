"""Metric names in one module, and our statsd_exporter mapping gives each the Prometheus name it documents."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise import metrics
from support.statsd import Datagram, load_rules, prometheus

#: The Prometheus names the seed documents (and its dashboards used).
SEED_NAMES = {
    "orchestrator_jobs_total",
    "orchestrator_jobs_duration_seconds",
    "orchestrator_active_jobs",
    "spark_cluster_utilization",
    "airflow_dag_run_duration",
}


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize("metric", metrics.ALL, ids=lambda m: m.name)
def test_every_metric_maps_to_its_prometheus_name(metric, rules) -> None:
    tags = {tag: "x" for tag in metric.tags}
    assert prometheus(Datagram(f"airflow.{metric.name}", tags, "1", "c"), rules) == (metric.prometheus, tags)


def test_the_seeds_names_are_all_produced(rules) -> None:
    ours = {m.prometheus for m in metrics.ALL}
    airflow = {rule.name for rule in rules} - ours
    assert SEED_NAMES.issubset(ours | airflow)
    assert len({m.name for m in metrics.ALL}) == len(metrics.ALL)  # one name, one metric


@pytest.mark.parametrize(
    ("name", "tags", "expected"),
    [
        (
            "airflow.dagrun.duration.success",
            {"dag_id": "daily"},
            ("airflow_dag_run_duration", {"dag_id": "daily", "state": "success"}),
        ),
        (
            "airflow.dagrun.duration.failed.daily",
            {},
            ("airflow_dag_run_duration", {"dag_id": "daily", "state": "failed"}),
        ),
        (
            "airflow.ti.finish.daily.process.success",
            {},
            ("airflow_ti_finish_total", {"dag_id": "daily", "task_id": "process", "state": "success"}),
        ),
        (
            "airflow.ti.finish",
            {"dag_id": "d", "task_id": "t", "state": "failed"},
            ("airflow_ti_finish_total", {"dag_id": "d", "task_id": "t", "state": "failed"}),
        ),
        ("airflow.triggers.running.host1", {}, ("airflow_triggers_running", {"hostname": "host1"})),
        ("airflow.triggerer.capacity_left", {"hostname": "h"}, ("airflow_triggerer_capacity_left", {"hostname": "h"})),
    ],
)
def test_airflow_names_the_official_mapping_misses_are_mapped(rules, name, tags, expected) -> None:
    assert prometheus(Datagram(name, tags, "1", "c"), rules) == expected


def test_emitting_checks_tags_and_types() -> None:
    with pytest.raises(ValueError, match="has no tag"):
        metrics.incr(metrics.JOBS, colour="blue")
    with pytest.raises(ValueError, match="is a gauge, not a counter"):
        metrics.incr(metrics.ACTIVE_JOBS)
    with pytest.raises(ValueError, match="is a counter, not a timer"):
        metrics.timing(metrics.JOBS, 1.0)
    metrics.incr(metrics.JOBS, status="succeeded", engine="local")  # no StatsD configured: nothing, no error
