"""
A real DAG run with Airflow's StatsD on, pointed at a UDP socket owned by the test: the datagrams our operator
sends (names, types, tags, values), and the Prometheus names our statsd_exporter mapping gives them.
"""

from __future__ import annotations

import time

import pytest

from support.env import airflow_on_examples
from support.statsd import UdpSink, load_rules, prometheus

pytestmark = pytest.mark.integration

DAG_ID = "enterprise_daily_processing"


def test_a_job_reports_its_metrics_through_airflows_statsd(airflow_db: str, registry_url: str, tmp_path) -> None:
    sink = UdpSink().start()
    try:
        airflow_on_examples(
            registry_url,
            tmp_path,
            "dags",
            "test",
            DAG_ID,
            AIRFLOW__METRICS__STATSD_ON="True",
            AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT=str(sink.port),
            AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED="True",
        )
        time.sleep(0.5)  # the last datagrams in flight
    finally:
        sink.stop()
    ours = {d.name: d for d in sink.datagrams("airflow.enterprise.")}
    job_tags = {"status": "succeeded", "engine": "local", "job_type": "data_processing", "dag_id": DAG_ID}

    jobs = ours["airflow.enterprise.jobs"]
    assert (jobs.kind, jobs.value, jobs.tags) == ("c", "1", job_tags)
    duration = ours["airflow.enterprise.job_duration"]
    assert duration.kind == "ms" and 0 < float(duration.value) < 120_000 and duration.tags == job_tags
    records = ours["airflow.enterprise.records_processed"]
    assert (records.kind, records.value, records.tags) == ("c", "10000", {"engine": "local", "dag_id": DAG_ID})
    written = ours["airflow.enterprise.records_written"]
    assert written.kind == "c" and int(written.value) > 0
    active = [d for d in sink.datagrams("airflow.enterprise.active_jobs")]
    assert [(d.value, d.kind, d.tags) for d in active] == [
        ("+1", "g", {"engine": "local"}),
        ("-1", "g", {"engine": "local"}),
    ]
    assert "airflow.enterprise.bad_rows" not in ours  # the sample has none: nothing is sent for zero
    checks = sink.datagrams("airflow.enterprise.checks")
    outcomes = sorted((d.tags["check"], d.tags["outcome"]) for d in checks)
    assert len(outcomes) == 6 and ("range_amount_input", "warned") in outcomes
    assert {o for _, o in outcomes} == {"passed", "warned"}
    warned = next(d for d in checks if d.tags["outcome"] == "warned")
    assert (warned.kind, warned.value) == ("c", "1")
    assert warned.tags == {
        "outcome": "warned",
        "check": "range_amount_input",
        "check_type": "range",
        "severity": "warn",
        "dag_id": DAG_ID,
        "engine": "local",
    }
    assert prometheus(warned, rules := load_rules()) == ("orchestrator_checks_total", warned.tags)

    assert prometheus(jobs, rules) == ("orchestrator_jobs_total", job_tags)
    assert prometheus(duration, rules)[0] == "orchestrator_jobs_duration_seconds"
    assert prometheus(active[0], rules) == ("orchestrator_active_jobs", {"engine": "local"})
    assert prometheus(records, rules)[0] == "orchestrator_records_processed_total"
    # Airflow's own metrics from the same run map too (the names the official chart's mapping misses)
    finished = [d for d in sink.datagrams("airflow.ti.finish") if d.tags.get("dag_id") == DAG_ID or DAG_ID in d.name]
    assert finished, sorted({d.name for d in sink.datagrams()})[:50]
    assert all(prometheus(d, rules)[0] == "airflow_ti_finish_total" for d in finished)


def test_breaker_state_changes_are_sent_as_a_gauge(registry, statsd_in_process) -> None:
    from airflow_provider_enterprise.config import CircuitBreakerSettings
    from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker

    breaker = CircuitBreaker(registry, "storage:metrics-test", CircuitBreakerSettings(failure_threshold=2))
    breaker.record_failure(breaker.acquire())
    breaker.record_failure(breaker.acquire())  # the second failure opens it
    breaker.reset()
    time.sleep(0.3)
    states = [(d.value, d.kind, d.tags) for d in statsd_in_process.datagrams("airflow.enterprise.circuit_state")]
    assert states == [(v, "g", {"breaker": "storage_metrics-test"}) for v in ("0", "2", "0")]
    rules = load_rules()
    gauge = statsd_in_process.datagrams("airflow.enterprise.circuit_state")[0]
    assert prometheus(gauge, rules)[0] == "orchestrator_circuit_state"
