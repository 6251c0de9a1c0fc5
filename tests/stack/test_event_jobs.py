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
from airflow_provider_enterprise.job_dag import JOB_DAG_ID
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


def test_messages_become_jobs_once_and_poison_is_dead_lettered(
    airflow_stack, publish, stack_registry, tmp_path: Path
) -> None:
    keyed = job(tmp_path, "event_keyed", idempotency_key="evt-keyed-1")
    ids = {
        "keyed": publish(keyed),
        "duplicate": publish(keyed),
        "unkeyed": publish(job(tmp_path, "event_unkeyed")),
        "reused_key": publish(job(tmp_path, "event_other", idempotency_key="evt-keyed-1")),
        "not_json": publish("{not json"),
        "forbidden": publish(
            job(tmp_path, "event_inside", input_path=str(tmp_path / "in"), output_path=str(tmp_path / "in" / "out"))
        ),
        "unknown_field": publish(job(tmp_path, "event_unknown", colour="blue")),
    }
    rows = recorded(stack_registry, list(ids.values()))
    status = {name: rows[message_id]["status"] for name, message_id in ids.items()}
    assert status == {
        "keyed": "admitted",
        "duplicate": "duplicate",
        "unkeyed": "admitted",
        "reused_key": "dead_letter",
        "not_json": "dead_letter",
        "forbidden": "dead_letter",
        "unknown_field": "dead_letter",
    }
    reasons = {name: rows[ids[name]]["reason"] for name in ("reused_key", "not_json", "forbidden", "unknown_field")}
    assert "was used for another job (job__evt-keyed-1)" in reasons["reused_key"]
    assert "not valid JSON" in reasons["not_json"]
    assert "lies inside input" in reasons["forbidden"]
    assert "colour" in reasons["unknown_field"]

    keyed_run, unkeyed_run = "job__evt-keyed-1", f"job__{message_key(STREAM, ids['unkeyed'])}"
    assert rows[ids["duplicate"]]["job_run_id"] == keyed_run
    for run_id in (keyed_run, unkeyed_run):
        assert airflow_stack.wait_for_run(JOB_DAG_ID, run_id) == "success"
    assert (tmp_path / "event_keyed" / "_SUCCESS").exists() and (tmp_path / "event_unkeyed" / "_SUCCESS").exists()
    started = [r for r in job_runs(airflow_stack) if r.startswith(("job__evt-keyed", "job__msg-"))]
    assert started.count(keyed_run) == 1 and not (tmp_path / "event_other").exists()


def test_a_triggerer_restart_mid_stream_loses_nothing(airflow_stack, publish, stack_registry, tmp_path: Path) -> None:
    before = [publish(job(tmp_path, f"restart_{i}")) for i in range(2)]
    stop_group(airflow_stack.processes["triggerer"])  # SIGTERM, as a rollout does, while it reads the stream
    during = [publish(job(tmp_path, f"restart_{i}")) for i in range(2, 4)]  # no triggerer listens
    airflow_stack.restart("triggerer")
    after = [publish(job(tmp_path, f"restart_{i}")) for i in range(4, 5)]
    message_ids = before + during + after
    rows = recorded(stack_registry, message_ids, timeout=180)
    assert {r["status"] for r in rows.values()} == {"admitted"}
    expected = {f"job__{message_key(STREAM, m)}" for m in message_ids}
    assert {r["job_run_id"] for r in rows.values()} == expected
    for run_id in sorted(expected):
        assert airflow_stack.wait_for_run(JOB_DAG_ID, run_id) == "success"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"restart_{i}" for i in range(5))
    broker = redis.Redis(host="127.0.0.1", port=airflow_stack.redis.port)
    deadline = time.monotonic() + 30
    while broker.xpending(STREAM, "airflow")["pending"] and time.monotonic() < deadline:
        time.sleep(1)
    assert broker.xpending(STREAM, "airflow")["pending"] == 0  # every entry acknowledged once Airflow stored it
