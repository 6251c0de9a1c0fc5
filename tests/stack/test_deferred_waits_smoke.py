"""
A seconds-long run of the deferred-waits benchmark on the session's stack: 20 registry-job waits deferred straight
from the scheduler and ended in the triggerer (no worker), completed at random times, plus the timer probes.
"""

from __future__ import annotations

import pytest

from support.bench import load_bench

pytestmark = pytest.mark.stack


def test_deferred_waits_end_in_the_triggerer_without_a_worker(airflow_stack, stack_registry) -> None:
    bench = load_bench("deferred_waits")
    results = bench.measure(airflow_stack, stack_registry, waits=20, poll_interval=2, window=4, lead=8)
    bench.report(results)
    assert results["failed_tasks"] == []
    assert results["dags"] == 1 and results["triggerer_pss_peak_mb"] > 0
    resume, probes = results["resume_latency"], results["loop_lag"]
    assert 0 < resume["p50_ms"] <= resume["max_ms"] < 60_000  # each wait ended after its job completed
    assert 0 <= probes["p50_ms"] < 60_000  # a probe cannot end before its time


def test_a_start_from_trigger_task_never_ran_on_a_worker(airflow_stack) -> None:
    (ti,) = [
        t
        for t in airflow_stack.client.get("/api/v2/dags/bench_deferred_waits_000/dagRuns/~/taskInstances").json()[
            "task_instances"
        ]
        if t["task_id"] == "wait_0000"
    ]
    assert ti["state"] == "success" and ti["try_number"] <= 1 and not ti["hostname"]  # no worker took it
