"""
The registry's record of every message read from a stream: admitted (it starts a job), duplicate, or dead letter.

At most one message per idempotency key is admitted (a unique index), so a message delivered twice, or sent
twice with one key, starts one job; each statement is atomic on its own, and a retried task of the same DAG run
finds its own admissions again. A message that cannot become a job is a dead letter with its reason, masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.registry.connection import dict_rows, reconnecting
from airflow_provider_enterprise.security.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_enterprise.events.messages import JobMessage
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

ADMITTED, DUPLICATE, DEAD_LETTER = "admitted", "duplicate", "dead_letter"

_COLUMNS = "stream, message_id, status, idempotency_key, job_run_id, reason, dag_id, run_id, received_at"

_INSERT = (
    "INSERT INTO enterprise_event_messages (stream, message_id, status, idempotency_key, conf_digest, job_run_id,"
    " reason, dag_id, run_id) VALUES (%(stream)s, %(message_id)s, %(status)s, %(key)s, %(digest)s, %(job_run_id)s,"
    " %(reason)s, %(dag_id)s, %(run_id)s) ON CONFLICT DO NOTHING RETURNING status"
)


class EventLedger:
    """
    Service functions over ``enterprise_event_messages``.

    :param hook: the registry.
    :param dag_id: the queue-fed DAG whose run reads the messages.
    :param run_id: that run.
    """

    def __init__(self, hook: EnterpriseMetadataHook, *, dag_id: str, run_id: str) -> None:
        self.hook = hook
        self.dag_id = dag_id
        self.run_id = run_id

    @reconnecting
    def admit(self, message: JobMessage) -> str:
        """
        Record a valid message; return ``admitted`` if it is to start its job now (in this DAG run), else
        ``duplicate`` (its key was admitted before for the same job, or the message was read before) or
        ``dead_letter`` (its key was admitted before for another job).
        """
        values = self._values(message.stream, message.message_id, ADMITTED)
        values.update(key=message.idempotency_key, digest=message.conf_digest, job_run_id=message.run_id)
        with self.hook.autocommit() as cur:
            cur.execute(_INSERT, values)
            if cur.fetchone() is not None:
                return ADMITTED
            cur.execute(
                "SELECT status, dag_id, run_id FROM enterprise_event_messages WHERE stream = %s AND message_id = %s",
                (message.stream, message.message_id),
            )
            seen = cur.fetchone()
            if seen is not None:  # read before: by a try of this run (admit it again) or by another run
                return ADMITTED if seen == (ADMITTED, self.dag_id, self.run_id) else DUPLICATE
            cur.execute(
                "SELECT conf_digest, job_run_id FROM enterprise_event_messages"
                " WHERE idempotency_key = %s AND status = 'admitted'",
                (message.idempotency_key,),
            )
            digest, job_run_id = cur.fetchone()
            if digest == message.conf_digest:
                values.update(status=DUPLICATE)
            else:
                reason = f"idempotency key {message.idempotency_key!r} was used for another job ({job_run_id})"
                values.update(status=DEAD_LETTER, reason=reason, digest=None)
            cur.execute(_INSERT, values)
            return str(values["status"])

    @reconnecting
    def dead_letter(self, stream: str, message_id: str, reason: str) -> None:
        """Record a message that cannot become a job, with the reason (masked); a second record is ignored."""
        values = self._values(stream, message_id, DEAD_LETTER)
        values.update(reason=redact(reason)[:10_000])
        with self.hook.autocommit() as cur:
            cur.execute(_INSERT, values)

    @reconnecting
    def last_message_id(self, stream: str) -> str | None:
        """The newest message of ``stream`` recorded (the stream is read on after it), or None."""
        with self.hook.transaction() as cur:
            cur.execute(
                "SELECT message_id FROM enterprise_event_messages WHERE stream = %s"
                " ORDER BY id_ms DESC, id_seq DESC LIMIT 1",
                (stream,),
            )
            row = cur.fetchone()
        return row[0] if row else None

    @reconnecting
    def admitted_in_run(self, stream: str) -> list[str]:
        """The messages of ``stream`` this DAG run admitted (by an earlier try: their jobs may not have started)."""
        with self.hook.transaction() as cur:
            cur.execute(
                "SELECT message_id FROM enterprise_event_messages"
                " WHERE stream = %s AND status = 'admitted' AND dag_id = %s AND run_id = %s",
                (stream, self.dag_id, self.run_id),
            )
            return [row[0] for row in cur.fetchall()]

    @reconnecting
    def recorded(self, stream: str, message_ids: list[str]) -> set[str]:
        """Those of ``message_ids`` of ``stream`` recorded already."""
        with self.hook.transaction() as cur:
            cur.execute(
                "SELECT message_id FROM enterprise_event_messages WHERE stream = %s AND message_id = ANY(%s)",
                (stream, list(message_ids)),
            )
            return {row[0] for row in cur.fetchall()}

    @reconnecting
    def messages(self, stream: str, *, status: str | None = None) -> list[dict[str, Any]]:
        """The messages of ``stream`` recorded so far (or only those with ``status``), oldest first."""
        with self.hook.transaction() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM enterprise_event_messages"
                " WHERE stream = %s AND (%s::text IS NULL OR status = %s) ORDER BY id_ms, id_seq",
                (stream, status, status),
            )
            return dict_rows(cur)

    def _values(self, stream: str, message_id: str, status: str) -> dict[str, Any]:
        return {
            "stream": stream,
            "message_id": message_id,
            "status": status,
            "key": None,
            "digest": None,
            "job_run_id": None,
            "reason": None,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
        }


@reconnecting
def find_messages(
    hook: EnterpriseMetadataHook, *, stream: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The messages recorded from every stream (or ``stream``), with ``status`` if given, newest first."""
    with hook.transaction() as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM enterprise_event_messages"
            " WHERE (%(stream)s::text IS NULL OR stream = %(stream)s)"
            " AND (%(status)s::text IS NULL OR status = %(status)s)"
            " ORDER BY received_at DESC, id_ms DESC, id_seq DESC LIMIT %(limit)s",
            {"stream": stream, "status": status, "limit": limit},
        )
        return dict_rows(cur)


@reconnecting
def get_message(hook: EnterpriseMetadataHook, stream: str, message_id: str) -> dict[str, Any] | None:
    """The record of one message, or None."""
    with hook.transaction() as cur:
        cur.execute(
            f"SELECT {_COLUMNS}, conf_digest FROM enterprise_event_messages WHERE stream = %s AND message_id = %s",
            (stream, message_id),
        )
        rows = dict_rows(cur)
    return rows[0] if rows else None
