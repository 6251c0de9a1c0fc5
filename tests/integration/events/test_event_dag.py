"""
The queue-fed job DAG run by ``dag.test()`` on a real Redis stream: one task admits the messages and starts one run
of the generic job DAG per admitted message (no task per message), dead-letters poison, and starts a run of its
own to read on when the stream holds more than a run reads; a retried try starts its admitted jobs again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
import sqlalchemy

from airflow_provider_enterprise.events.dag import admit
from airflow_provider_enterprise.events.ledger import EventLedger
from support.redis_server import RedisServer

pytestmark = pytest.mark.integration

STREAM = "test-job-messages"  # the stream of tests/dags/processing_dags.py's event_jobs


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> redis.Redis:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    with pytest.MonkeyPatch.context() as patch:
        conn = {"conn_type": "redis", "host": "127.0.0.1", "port": server.port}
        patch.setenv("AIRFLOW_CONN_TEST_EVENTS_REDIS", json.dumps(conn))
        client = redis.Redis(host="127.0.0.1", port=server.port)
        yield client
        client.close()
    server.stop()


def job(tmp_path: Path, name: str, **fields) -> str:
    body = {"job_name": name, "input_path": "/data/in.csv", "output_path": str(tmp_path / name), **fields}
    return json.dumps(body)


def runs(airflow_db: str, dag_id: str) -> dict[str, dict]:
    engine = sqlalchemy.create_engine(airflow_db)
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text("SELECT run_id, conf FROM dag_run WHERE dag_id = :dag_id"), {"dag_id": dag_id}
        ).all()
    engine.dispose()
    return {run_id: conf for run_id, conf in rows}


def test_one_task_admits_a_burst_and_starts_a_run_per_job(
    broker, airflow_db: str, dags, registry, tmp_path: Path
) -> None:
    sent = [
        broker.xadd(STREAM, {"job": job(tmp_path, "first", idempotency_key="evt-1")}),
        broker.xadd(STREAM, {"job": job(tmp_path, "first", idempotency_key="evt-1")}),  # a producer's resend
        broker.xadd(STREAM, {"job": "{not json"}),
        broker.xadd(STREAM, {"job": job(tmp_path, "second", idempotency_key="evt-2")}),  # the 4th: read on
    ]
    dag_run = dags.event_jobs.test()
    assert dag_run.state == "success"
    ledger = EventLedger(registry, dag_id=dags.event_jobs.dag_id, run_id=dag_run.run_id)
    assert [r["status"] for r in ledger.messages(STREAM)] == ["admitted", "duplicate", "dead_letter"]
    jobs = runs(airflow_db, dags.submitted_jobs.dag_id)
    assert "job__evt-1" in jobs and "job__evt-2" not in jobs  # max_messages=3: the 4th is the next run's
    conf = jobs["job__evt-1"] if isinstance(jobs["job__evt-1"], dict) else json.loads(jobs["job__evt-1"])
    assert (conf["job_name"], conf["output_path"]) == ("first", str(tmp_path / "first"))
    read_on = runs(airflow_db, dags.event_jobs.dag_id)
    assert f"read_on__{sent[2].decode()}" in read_on  # named by the newest entry read: started once

    # an earlier try admitted a message and died before starting its job: the retry, reading past it, starts it
    retried = admit(
        STREAM,
        [],
        dag_id=dags.event_jobs.dag_id,
        run_id=dag_run.run_id,
        redis_conn_id="test_events_redis",
        retried=True,
    )
    assert [s["run_id"] for s in retried["submissions"]] == ["job__evt-1", "job__evt-2"]
    assert retried["more"] is False
