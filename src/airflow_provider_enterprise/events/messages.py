"""
A job submitted as a message on a stream: its body, its idempotency key, and why a message is refused.

A message's ``job`` field holds a JSON object with the fields of a submission (those of the generic job DAG's
params and of the Python client's :class:`~airflow_provider_enterprise.clients.jobs.Job`) and an optional
``idempotency_key``. It is validated exactly as the client validates a job, and its run id is the client's for
the same key, so a message and a client call with one key are one job. Without a key, the key is a hash of the
stream and the message id: a redelivered message is the same job, a message published twice is two.
No Airflow import: producers can check their messages with this module.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from airflow_provider_enterprise.clients.jobs import Job, run_id_for
from airflow_provider_enterprise.exceptions import EnterpriseError
from airflow_provider_enterprise.spec.models import InvalidJobSpec

#: The field of a stream entry that holds the job's JSON.
BODY_FIELD = "job"
#: The key of the JSON object that names the message's idempotency key.
KEY_FIELD = "idempotency_key"


class PoisonMessage(EnterpriseError):
    """A message that can never become a job (not JSON, an invalid job, a bad key): dead-lettered, not retried."""


@dataclass(frozen=True)
class JobMessage:
    """A valid job message: where it came from, its idempotency key and the run's conf."""

    stream: str
    message_id: str
    idempotency_key: str
    conf: dict[str, Any]

    @property
    def run_id(self) -> str:
        """The generic job DAG's run of this job (the Python client's run id for the same key)."""
        return run_id_for(self.idempotency_key)

    @property
    def conf_digest(self) -> str:
        """A digest of the conf: a key sent again with another job is told apart from a redelivery."""
        return hashlib.sha256(json.dumps(self.conf, sort_keys=True).encode()).hexdigest()


def message_key(stream: str, message_id: str) -> str:
    """The idempotency key of a message that names none: a hash of its stream and message id."""
    return "msg-" + hashlib.sha256(f"{stream}\0{message_id}".encode()).hexdigest()[:40]


def entry_body(fields: dict[bytes, bytes] | None) -> str | None:
    """
    The ``job`` field of a stream entry as text (None when it has none).

    :param fields: the entry's fields; None when the entry is no longer in the stream.
    :raises PoisonMessage: the entry is gone, or its ``job`` field is not UTF-8.
    """
    if fields is None:
        raise PoisonMessage("the entry is no longer in the stream (trimmed or deleted before its run read it)")
    raw = fields.get(BODY_FIELD.encode())
    try:
        return None if raw is None else raw.decode()
    except UnicodeDecodeError as err:
        raise PoisonMessage(f"the {BODY_FIELD!r} field is not UTF-8 text: {err}") from None


def parse_job_message(stream: str, message_id: str, body: str | None) -> JobMessage:
    """
    Parse and validate a message's body into the job it submits.

    :raises PoisonMessage: naming the problem: no body, not JSON, not an object, a bad idempotency key, or the
        job's first invalid field (unknown fields and overlapping input and output paths included).
    """
    if body is None:
        raise PoisonMessage(f"the message has no {BODY_FIELD!r} field holding the job's JSON")
    try:
        data = json.loads(body)
    except ValueError as err:
        raise PoisonMessage(f"the {BODY_FIELD!r} field is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise PoisonMessage(f"the {BODY_FIELD!r} field must be a JSON object, not {type(data).__name__}")
    key = data.pop(KEY_FIELD, None)
    if key is None:
        key = message_key(stream, message_id)
    elif not isinstance(key, str):
        raise PoisonMessage(f"{KEY_FIELD} must be a string, not {type(key).__name__}")
    try:
        run_id_for(key)
        conf = json.loads(json.dumps(Job(**data).conf()))  # plain JSON values (enums as their strings)
    except (ValueError, ValidationError, InvalidJobSpec) as err:  # pydantic's and the key's errors are ValueErrors
        raise PoisonMessage(str(err)) from None
    return JobMessage(stream, message_id, key, conf)
