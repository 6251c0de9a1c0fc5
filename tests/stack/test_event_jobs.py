"""
Event-driven jobs on the stack: messages published to a Redis stream become runs of the generic job DAG through
the triggerer's asset watcher (no worker polls), a duplicate starts one job, poison messages are dead letters in
the registry, and a triggerer restart in the middle of a stream loses no message.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from airflow_provider_enterprise.events.dag import EVENTS_DAG_ID
from airflow_provider_enterprise.events.ledger import EventLedger
from airflow_provider_enterprise.events.messages import message_key
from airflow_provider_enterprise.operators.job_dag import JOB_DAG_ID
from support.env import EXAMPLE_DAGS
from support.processes import stop_group

pytestmark = pytest.mark.stack

STREAM = "enterprise-jobs"  # the stream dags/enterprise_job_events.py watches
SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


@pytest.fixture(scope="module")
def publish(airflow_stack):
    """Publish a job message (a dict, sent as JSON, or raw text) on the stream; return its message id."""
    airflow_stack.put_connection(
        "redis_default", conn_type="redis", host="127.0.0.1", port=airflow_stack.redis.port, extra='{"db": 0}'
    )
    airflow_stack.wait_for_dag(EVENTS_DAG_ID)  # unpaused: its watcher starts in the triggerer
    airflow_stack.wait_for_dag(JOB_DAG_ID)
    client = redis.Redis(host="127.0.0.1", port=airflow_stack.redis.port)

    def send(body: dict | str) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        return client.xadd(STREAM, {"job": text}).decode()

    yield send
    client.close()


def job(tmp_path: Path, name: str, **fields) -> dict:
    return {
        "job_name": name,
        "input_path": str(SAMPLE),
        "output_path": str(tmp_path / name),
        "execution_engine": "local",
        **fields,
    }


def recorded(stack_registry, message_ids: list[str], timeout: float = 120) -> dict[str, dict]:
    """Wait until the registry has recorded every message; return its row per message id."""
    ledger = EventLedger(stack_registry, dag_id=EVENTS_DAG_ID, run_id="")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = {r["message_id"]: r for r in ledger.messages(STREAM) if r["message_id"] in message_ids}
        if len(rows) == len(message_ids):
            return rows
        time.sleep(1)
    raise AssertionError(f"recorded {sorted(rows)} of {message_ids}")


def job_runs(stack) -> dict[str, str]:
    runs = stack.client.get(f"/api/v2/dags/{JOB_DAG_ID}/dagRuns", params={"limit": 1000}).json()["dag_runs"]
    return {r["dag_run_id"]: r["state"] for r in runs}


def test_messages_become_jobs_once_poison_is_dead_lettered_and_a_triggerer_restart_loses_nothing(
    airflow_stack, publish, stack_registry, tmp_path: Path
) -> None:
    """
    One stream, in the order a producer sends it: a job, its resend, two poison messages and two jobs, then the
    triggerer stops (SIGTERM, as a rollout does) while it reads them, two jobs are published while no triggerer
    listens, and one after it is back. The other poison kinds and a reused key are checked by
    ``tests/unit/events/test_messages.py`` and ``tests/integration/events``.
    """
    keyed = job(tmp_path, "event_keyed", idempotency_key="evt-keyed-1")
    ids = {
        "keyed": publish(keyed),
        "duplicate": publish(keyed),
        "not_json": publish("{not json"),
        "forbidden": publish(
            job(tmp_path, "event_inside", input_path=str(tmp_path / "in"), output_path=str(tmp_path / "in" / "out"))
        ),
    }
    before = [publish(job(tmp_path, f"restart_{i}")) for i in range(2)]
    stop_group(airflow_stack.processes["triggerer"])
    during = [publish(job(tmp_path, f"restart_{i}")) for i in range(2, 4)]  # no triggerer listens
    airflow_stack.restart("triggerer")
    after = [publish(job(tmp_path, f"restart_{i}")) for i in range(4, 5)]
    restarted = before + during + after

    rows = recorded(stack_registry, [*ids.values(), *restarted], timeout=180)
    status = {name: rows[message_id]["status"] for name, message_id in ids.items()}
    assert status == {
        "keyed": "admitted",
        "duplicate": "duplicate",
        "not_json": "dead_letter",
        "forbidden": "dead_letter",
    }
    assert "not valid JSON" in rows[ids["not_json"]]["reason"]
    assert "lies inside input" in rows[ids["forbidden"]]["reason"]
    keyed_run = "job__evt-keyed-1"
    assert rows[ids["duplicate"]]["job_run_id"] == keyed_run
    assert {rows[m]["status"] for m in restarted} == {"admitted"}
    expected = {keyed_run} | {f"job__{message_key(STREAM, m)}" for m in restarted}
    assert {rows[m]["job_run_id"] for m in restarted} == expected - {keyed_run}

    for run_id in sorted(expected):  # every admitted message ran, once
        assert airflow_stack.wait_for_run(JOB_DAG_ID, run_id) == "success"
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"event_keyed"} | {f"restart_{i}" for i in range(5)}
    assert (tmp_path / "event_keyed" / "_SUCCESS").exists()
    started = [r for r in job_runs(airflow_stack) if r.startswith(("job__evt-keyed", "job__msg-"))]
    assert started.count(keyed_run) == 1 and expected <= set(started)
    broker = redis.Redis(host="127.0.0.1", port=airflow_stack.redis.port)
    deadline = time.monotonic() + 30
    while broker.xpending(STREAM, "airflow")["pending"] and time.monotonic() < deadline:
        time.sleep(1)
    assert broker.xpending(STREAM, "airflow")["pending"] == 0  # every entry acknowledged once Airflow stored it
