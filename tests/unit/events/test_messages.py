"""Job messages: parsed and validated as the Python client validates a job, with the client's run id per key."""

from __future__ import annotations

import json

import pytest

from airflow_provider_enterprise.clients.jobs import Job, run_id_for
from airflow_provider_enterprise.events.dag import _position
from airflow_provider_enterprise.events.messages import PoisonMessage, entry_body, message_key, parse_job_message

JOB = {"job_name": "orders", "input_path": "/data/in.csv", "output_path": "/data/out"}


def test_a_message_is_the_clients_job_with_the_clients_run_id() -> None:
    message = parse_job_message("jobs", "17-0", json.dumps({**JOB, "idempotency_key": "order-42"}))
    assert message.conf == Job(**JOB).conf()
    assert json.loads(json.dumps(message.conf)) == message.conf  # plain JSON: a DAG run's conf
    assert (message.idempotency_key, message.run_id) == ("order-42", run_id_for("order-42"))


def test_without_a_key_the_key_is_the_stream_and_message_id() -> None:
    first = parse_job_message("jobs", "17-0", json.dumps(JOB))
    assert (
        first.idempotency_key
        == message_key("jobs", "17-0")
        == parse_job_message("jobs", "17-0", json.dumps(JOB)).idempotency_key
    )
    assert first.run_id == f"job__{first.idempotency_key}"  # a valid run id of the client's kind
    others = {message_key("jobs", "17-1"), message_key("other", "17-0"), message_key("jobs1", "7-0")}
    assert first.idempotency_key not in others and len(others) == 3


def test_the_digest_tells_another_job_from_a_redelivery() -> None:
    one = parse_job_message("jobs", "1-0", json.dumps({**JOB, "idempotency_key": "k"}))
    again = parse_job_message("jobs", "2-0", json.dumps({"idempotency_key": "k", **dict(reversed(JOB.items()))}))
    other = parse_job_message("jobs", "3-0", json.dumps({**JOB, "idempotency_key": "k", "priority": "high"}))
    assert one.conf_digest == again.conf_digest != other.conf_digest


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "no 'job' field"),
        ("{oops", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        (json.dumps({**JOB, "idempotency_key": 7}), "idempotency_key must be a string"),
        (json.dumps({**JOB, "idempotency_key": "a b"}), "idempotency key 'a b'"),
        (json.dumps({**JOB, "colour": "blue"}), "colour"),
        (json.dumps({"job_name": "x", "input_path": "/d"}), "output_path"),
        (json.dumps({**JOB, "output_format": "xlsx"}), "output_format"),
        (json.dumps({**JOB, "input_path": "/d", "output_path": "/d/out"}), "lies inside input"),
        (json.dumps({**JOB, "input_path": "ftp://h/in.csv"}), "ftp:// is not supported"),
        (
            json.dumps(
                {**JOB, "processing_logic": {"transformations": [{"type": "filter", "condition": "1; DROP TABLE t"}]}}
            ),
            "condition",
        ),
    ],
)
def test_poison_messages_name_the_problem(body: str | None, reason: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        parse_job_message("jobs", "9-0", body)
    assert reason in str(caught.value)


def test_the_body_is_the_job_field_of_the_entry() -> None:
    assert entry_body({b"job": b'{"a": 1}', b"other": b"x"}) == '{"a": 1}'
    assert entry_body({b"other": b"x"}) is None  # dead-lettered by the parse as "no 'job' field"
    with pytest.raises(PoisonMessage, match="no longer in the stream"):
        entry_body(None)
    with pytest.raises(PoisonMessage, match="not UTF-8"):
        entry_body({b"job": b"\xff\xfe"})


def test_messages_are_handled_in_stream_order() -> None:
    ids = ["10-1", "9-5", "10-0", "100-0"]
    assert sorted(ids, key=_position) == ["9-5", "10-0", "10-1", "100-0"]
