"""
Cluster deploy mode on the real stack and the session's standalone cluster: a JVM application (built here with
javac and jar) submitted by EnterpriseSparkSubmitOperator, waited for by the triggerer or in the task.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.cli import orchestrator
from support.jvm_app import build_jar
from support.processes import wait_for

pytestmark = pytest.mark.stack

TASK_ID = "run_application"
DEFERRED = "stack_spark_deferred"
SHORT_TIMEOUT = "stack_spark_deferred_timeout"
POLLED = "stack_spark_polled"


@pytest.fixture(scope="module")
def jar(airflow_stack, spark_cluster, workdir) -> Path:
    """The test application, and the connection that sends it to the cluster in cluster deploy mode."""
    airflow_stack.put_connection(
        "spark_cluster_mode",
        conn_type="spark",
        host="spark://127.0.0.1",
        port=spark_cluster.master_port,
        extra=json.dumps({"deploy-mode": "cluster", "rest-port": str(spark_cluster.rest_port)}),
    )
    for dag_id in (DEFERRED, SHORT_TIMEOUT, POLLED):
        airflow_stack.wait_for_dag(dag_id)
    return build_jar(workdir / "jvm-app")


def drivers(cluster) -> dict[str, str]:
    """Every driver the master knows, by id, with its state."""
    status = cluster.master_json()
    return {d["id"]: d["state"] for d in status.get("activedrivers", []) + status.get("completeddrivers", [])}


def trigger(stack, dag_id: str, jar: Path, output: Path, mode: str, seconds: int = 0) -> str:
    conf = {"application": str(jar), "mode": mode, "output": str(output), "seconds": str(seconds)}
    return stack.trigger(dag_id, conf=conf)


def attempts(registry, dag_id: str, run_id: str) -> list[dict]:
    job = registry.find_job(JobKey(dag_id, run_id, TASK_ID))
    return sorted((job or {}).get("attempts", []), key=lambda a: a["try_number"])


def test_deferred_application_finishes_while_the_triggerer_waits(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    output = tmp_path / "count.txt"
    run_id = trigger(airflow_stack, DEFERRED, jar, output, "count")
    states = set()

    def ended() -> str | None:
        states.add(airflow_stack.task_instance(DEFERRED, run_id, TASK_ID)["state"])
        state = airflow_stack.client.get(f"/api/v2/dags/{DEFERRED}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None

    assert wait_for(ended, "the run's end", timeout=180, interval=0.3) == "success", airflow_stack.logs_tail()
    assert "deferred" in states  # no worker slot was held while the driver ran
    assert output.read_text() == "1000"  # the driver ran a Spark job on the cluster
    (attempt,) = attempts(stack_registry, DEFERRED, run_id)
    assert attempt["status"] == "succeeded" and attempt["engine"] == "spark"
    assert attempt["spec"]["application"] == str(jar)
    assert drivers(spark_cluster)[attempt["external_id"]] == "FINISHED"


def test_failed_application_goes_through_retries_to_a_dead_letter(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    before = drivers(spark_cluster)
    run_id = trigger(airflow_stack, DEFERRED, jar, tmp_path / "never", "fail")
    assert airflow_stack.wait_for_run(DEFERRED, run_id, timeout=240) == "failed"
    tries = attempts(stack_registry, DEFERRED, run_id)
    assert [(a["try_number"], a["status"], a["error_class"]) for a in tries] == [
        (1, "failed", "SparkApplicationError"),
        (2, "failed", "SparkApplicationError"),
    ]
    assert "ended FAILED" in tries[0]["error_message"]
    new = {d: s for d, s in drivers(spark_cluster).items() if d not in before}
    assert sorted(new.values()) == ["FAILED", "FAILED"]  # one application per try
    assert {a["external_id"] for a in tries} == set(new)
    job = stack_registry.find_job(JobKey(DEFERRED, run_id, TASK_ID))
    (letter,) = [d for d in DeadLetterQueue(stack_registry).find(dag_id=DEFERRED) if d["job_id"] == job["job_id"]]
    assert (letter["status"], letter["try_number"]) == ("open", 2)


def task_logs(airflow_stack, dag_id: str) -> str:
    """The task logs of ``dag_id``'s runs on the stack, for a failed assertion's message."""
    paths = sorted((airflow_stack.home / "logs").glob(f"dag_id={dag_id}/**/*.log"))
    return "\n".join(f"--- {path} ---\n{path.read_text(errors='replace')[-6000:]}" for path in paths)


def test_deferred_application_past_its_timeout_is_killed_on_the_master(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    run_id = trigger(airflow_stack, SHORT_TIMEOUT, jar, tmp_path / "started", "sleep", seconds=600)
    assert airflow_stack.wait_for_run(SHORT_TIMEOUT, run_id, timeout=180) == "failed"
    (attempt,) = attempts(stack_registry, SHORT_TIMEOUT, run_id)
    assert (attempt["status"], attempt["error_class"]) == ("failed", "JobTimeoutError"), task_logs(
        airflow_stack, SHORT_TIMEOUT
    )
    wait_for(lambda: drivers(spark_cluster)[attempt["external_id"]] == "KILLED", "the driver killed", timeout=30)


def test_marking_a_deferred_task_failed_kills_its_application(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    started = tmp_path / "started"
    run_id = trigger(airflow_stack, DEFERRED, jar, started, "sleep", seconds=600)
    logs = airflow_stack.home / "logs" / f"dag_id={DEFERRED}" / f"run_id={run_id}" / f"task_id={TASK_ID}"

    def polled_by_the_trigger() -> bool:  # a trigger cancelled before it ran has nothing to kill
        return any("is RUNNING" in log.read_text() for log in logs.glob("attempt=1.log.trigger.*.log"))

    wait_for(lambda: started.exists() and polled_by_the_trigger(), "the driver running, the triggerer polling it")
    assert airflow_stack.task_instance(DEFERRED, run_id, TASK_ID)["state"] == "deferred"
    (attempt,) = attempts(stack_registry, DEFERRED, run_id)
    assert drivers(spark_cluster)[attempt["external_id"]] == "RUNNING"
    airflow_stack.mark_task(DEFERRED, run_id, TASK_ID, "failed")
    wait_for(lambda: drivers(spark_cluster)[attempt["external_id"]] == "KILLED", "the driver killed", timeout=60)


def test_a_retried_task_reattaches_to_its_running_application(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    started = tmp_path / "started"
    before = drivers(spark_cluster)
    run_id = trigger(airflow_stack, POLLED, jar, started, "sleep", seconds=300)  # until started.release exists
    first = wait_for(
        lambda: (
            started.exists() and next((a for a in attempts(stack_registry, POLLED, run_id) if a["external_id"]), None)
        ),
        "the first try polling its running driver",
    )
    os.kill(first["pid"], signal.SIGKILL)  # the task process dies; the driver runs on in the cluster

    second = wait_for(
        lambda: next((a for a in attempts(stack_registry, POLLED, run_id)[1:] if a["external_id"]), None),
        "the second try recording its application",
    )
    assert second["external_id"] == first["external_id"]
    assert drivers(spark_cluster)[first["external_id"]] == "RUNNING"  # re-attached while it ran
    (tmp_path / "started.release").touch()  # the driver ends
    assert airflow_stack.wait_for_run(POLLED, run_id, timeout=240) == "success", airflow_stack.logs_tail()
    tries = attempts(stack_registry, POLLED, run_id)
    assert tries[-1]["status"] == "succeeded" and tries[-1]["try_number"] == 2
    assert tries[-1]["external_id"] == first["external_id"]  # re-attached, not resubmitted
    new = {d: s for d, s in drivers(spark_cluster).items() if d not in before}
    assert new == {first["external_id"]: "FINISHED"}  # exactly one application for both tries


def test_reconcile_stops_the_application_of_a_task_failed_before_any_triggerer_ran_it(
    airflow_stack, stack_registry, spark_cluster, jar, tmp_path
) -> None:
    """
    Marked failed while deferred, with the triggerer frozen (SIGSTOP): no trigger ever ran, so nothing called
    ``on_kill``, and the driver would run on; the reconciliation sweep kills it.
    """
    started = tmp_path / "started"
    with airflow_stack.paused("triggerer"):
        run_id = trigger(airflow_stack, DEFERRED, jar, started, "sleep", seconds=600)

        def deferred_attempt() -> dict | None:
            found = attempts(stack_registry, DEFERRED, run_id)
            state = airflow_stack.task_instance(DEFERRED, run_id, TASK_ID)["state"]
            return found[0] if state == "deferred" and found and found[0]["external_id"] else None

        attempt = wait_for(deferred_attempt, "the task deferred with its application", timeout=120)
        wait_for(started.exists, "the driver running", timeout=120)
        api = attempt["status_api"]  # where the sweep reads the driver's state, without credentials
        assert (api["backend"], api["conn_id"]) == ("standalone", "spark_cluster_mode")
        assert api["url"].endswith(f":{spark_cluster.rest_port}")
        airflow_stack.mark_task(DEFERRED, run_id, TASK_ID, "failed")
        out = orchestrator(airflow_stack, "dlq", "reconcile", "--stale-after", "0.1")
        assert "1 orphaned applications stopped" in out, out
        wait_for(lambda: drivers(spark_cluster)[attempt["external_id"]] == "KILLED", "the driver killed", timeout=30)
    (attempt,) = attempts(stack_registry, DEFERRED, run_id)
    assert (attempt["status"], attempt["error_class"]) == ("failed", "LostTaskError")
