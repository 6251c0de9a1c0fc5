"""The registry's record of stream messages: one admission per idempotency key, duplicates and dead letters."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_enterprise.events.ledger import EventLedger
from airflow_provider_enterprise.events.messages import parse_job_message

pytestmark = pytest.mark.integration

JOB = {"job_name": "orders", "input_path": "/data/in.csv", "output_path": "/data/out"}


def message(message_id: str, stream: str = "jobs", **fields):
    return parse_job_message(stream, message_id, json.dumps({**JOB, **fields}))


def test_one_admission_per_key(registry) -> None:
    run1 = EventLedger(registry, dag_id="events", run_id="run1")
    run2 = EventLedger(registry, dag_id="events", run_id="run2")
    assert run1.admit(message("1-0", idempotency_key="k1")) == "admitted"
    assert run1.admit(message("1-0", idempotency_key="k1")) == "admitted"  # a retry of the run admits it again
    assert run2.admit(message("1-0", idempotency_key="k1")) == "duplicate"  # redelivered to another run
    assert run2.admit(message("2-0", idempotency_key="k1")) == "duplicate"  # published twice, same job
    assert run2.admit(message("3-0", idempotency_key="k1", priority="high")) == "dead_letter"  # key reused
    assert run2.admit(message("4-0")) == "admitted"  # no key: its own
    rows = {r["message_id"]: r for r in run1.messages("jobs")}
    assert {m: r["status"] for m, r in rows.items()} == {
        "1-0": "admitted",
        "2-0": "duplicate",
        "3-0": "dead_letter",
        "4-0": "admitted",
    }
    assert rows["2-0"]["job_run_id"] == "job__k1" and rows["1-0"]["run_id"] == "run1"
    assert "'k1' was used for another job (job__k1)" in rows["3-0"]["reason"]


def test_racing_runs_admit_a_key_once(registry) -> None:
    def admit(i: int) -> str:
        return EventLedger(registry, dag_id="events", run_id=f"race{i}").admit(
            message(f"9-{i}", idempotency_key="race")
        )

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(admit, range(16)))
    assert sorted(outcomes) == ["admitted"] + ["duplicate"] * 15


def test_a_dead_letter_is_recorded_once_with_its_reason(registry) -> None:
    ledger = EventLedger(registry, dag_id="events", run_id="run1")
    ledger.dead_letter("poison", "1-0", "not valid JSON: Expecting value")
    ledger.dead_letter("poison", "1-0", "read again after a restart")  # recorded once
    (row,) = ledger.messages("poison", status="dead_letter")
    assert row["reason"].startswith("not valid JSON") and row["job_run_id"] is None


def test_the_stream_is_read_on_from_its_newest_recorded_message(registry) -> None:
    ledger = EventLedger(registry, dag_id="events", run_id="run1")
    assert ledger.last_message_id("positions") is None
    ledger.admit(message("9-1", stream="positions"))
    ledger.dead_letter("positions", "10-0", "not valid JSON")  # "10-0" < "9-1" as text, not as a stream id
    ledger.admit(message("9-2", stream="positions"))
    assert ledger.last_message_id("positions") == "10-0"
    assert [r["message_id"] for r in ledger.messages("positions")] == ["9-1", "9-2", "10-0"]
