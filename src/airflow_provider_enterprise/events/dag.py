"""
The queue-fed job DAG: jobs submitted as messages on a Redis stream, each message one run of the generic job DAG.

An asset watched by :class:`~airflow_provider_enterprise.triggers.redis_stream.RedisStreamTrigger` schedules the
DAG: the triggerer turns each stream entry into an asset event, no worker polls. A run does not rely on being
handed every event: Airflow 3.3 collapses the events queued since a DAG's last run into one run, and leaves
those stored between the queue's first event and the run's creation to the next event's run (apache/airflow
#56050). So a run reads the stream itself, on from the newest message the registry recorded. Its one task,
``admit_messages``:

- reads the stream's entries after that position (at most ``max_messages``), the entries of its own events found
  there no longer, and the messages an earlier try of the run admitted; parses each
  (:mod:`~airflow_provider_enterprise.events.messages`) and records it in the registry
  (:mod:`~airflow_provider_enterprise.events.ledger`): admitted once per idempotency key, a duplicate, or a dead
  letter with its reason (not JSON, an invalid job, a forbidden path, a reused key, an entry gone);
- starts one run of the generic job DAG per admitted message, with the run id the Python client derives from the
  same key, so a job is started once however often it is delivered. The runs are started from the task itself
  (:mod:`~airflow_provider_enterprise.events.runs`), not by a task per message: a burst costs one task process
  per job, the job's own;
- starts another run of this DAG when ``max_messages`` were not all the stream held.

The jobs themselves run in the generic job DAG, with its retries, dead letters, engine queue and pool: a burst
waits there as queued runs and tasks, never more running than its pool and ``max_active_runs`` allow.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_enterprise.spec.submission import JOB_DAG_ID
from airflow_provider_enterprise.triggers.redis_stream import RedisStreamTrigger

log = logging.getLogger(__name__)

EVENTS_DAG_ID = "enterprise_job_events"
#: Messages one run reads at most.
MAX_MESSAGES = 1000


def stream_asset(stream: str, redis_conn_id: str = "redis_default", **trigger_kwargs: Any) -> Asset:
    """The asset whose events are the entries of ``stream`` (see :class:`RedisStreamTrigger` for the kwargs)."""
    trigger = RedisStreamTrigger(stream=stream, redis_conn_id=redis_conn_id, **trigger_kwargs)
    return Asset(
        name=f"enterprise_job_messages.{stream}",
        uri=f"redis+stream://{redis_conn_id}/{stream}",
        watchers=[AssetWatcher(name=f"enterprise_job_messages.{stream}", trigger=trigger)],
    )


def admit(
    stream: str,
    event_ids: list[str],
    *,
    dag_id: str,
    run_id: str,
    redis_conn_id: str,
    metadata_conn_id: str | None = None,
    max_messages: int = MAX_MESSAGES,
    retried: bool = False,
) -> dict[str, Any]:
    """
    Read the stream on from the registry's position, record each message; return ``submissions`` (the run id and
    conf of the job run of each message admitted in this run), ``more`` (entries were left unread) and
    ``read_on_run_id``.

    :param event_ids: the message ids of the run's asset events (those no longer in the stream are dead letters).
    :param retried: an earlier try of the run may have admitted messages (their jobs are started again).
    """
    from airflow.providers.redis.hooks.redis import RedisHook

    from airflow_provider_enterprise.events.ledger import ADMITTED, EventLedger
    from airflow_provider_enterprise.events.messages import PoisonMessage, entry_body, parse_job_message
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    ledger = EventLedger(EnterpriseMetadataHook(metadata_conn_id), dag_id=dag_id, run_id=run_id)
    redis = RedisHook(redis_conn_id=redis_conn_id).get_conn()  # type: ignore[no-untyped-call]
    last = ledger.last_message_id(stream)
    entries = {i.decode(): f for i, f in redis.xrange(stream, "-" if last is None else f"({last}", "+", max_messages)}
    more = len(entries) == max_messages
    # read again: what an earlier try of this run admitted (this try starts those jobs if it did not), and, unless
    # the run reads on, its own events not recorded yet (their entries are gone or were before the position)
    again = set(ledger.admitted_in_run(stream)) if retried else set()
    if not more:
        again |= set(event_ids) - ledger.recorded(stream, event_ids)
    for message_id in sorted(again - set(entries), key=_position):
        found = redis.xrange(stream, message_id, message_id, count=1)
        entries[message_id] = found[0][1] if found else None
    submissions = []
    for message_id in sorted(entries, key=_position):
        try:
            message = parse_job_message(stream, message_id, entry_body(entries[message_id]))
        except PoisonMessage as err:
            log.warning("Dead letter: message %s of stream %s: %s", message_id, stream, err)
            ledger.dead_letter(stream, message_id, str(err))
            continue
        outcome = ledger.admit(message)
        log.info("Message %s of stream %s (key %s): %s", message_id, stream, message.idempotency_key, outcome)
        if outcome == ADMITTED:
            submissions.append({"run_id": message.run_id, "conf": message.conf})
    newest = max(entries, key=_position, default="0-0")
    return {"submissions": submissions, "more": more, "read_on_run_id": f"read_on__{newest}"}


def _position(message_id: str) -> tuple[int, int]:
    """A Redis stream id's order: ``<milliseconds>-<sequence>``."""
    millis, _, seq = message_id.partition("-")
    return int(millis), int(seq or 0)


def build_event_job_dag(
    stream: str,
    *,
    redis_conn_id: str = "redis_default",
    dag_id: str = EVENTS_DAG_ID,
    job_dag_id: str = JOB_DAG_ID,
    metadata_conn_id: str | None = None,
    max_messages: int = MAX_MESSAGES,
    trigger_kwargs: dict[str, Any] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """
    Return the queue-fed job DAG of ``stream``.

    :param stream: the Redis stream whose entries are job submissions.
    :param redis_conn_id: Airflow connection of the Redis server.
    :param dag_id: the DAG's id.
    :param job_dag_id: the generic job DAG whose runs the messages start.
    :param metadata_conn_id: connection of the registry database (default: the configured one).
    :param max_messages: messages one run reads at most (the rest are read by a run it starts).
    :param trigger_kwargs: more arguments of :class:`RedisStreamTrigger` (group, consumer, batch_size, block_ms).
    :param dag_kwargs: the DAG's other arguments (tags, ``max_active_runs``: 1 by default, ...).
    """
    dag_kwargs.setdefault("tags", ["enterprise", "submitted-jobs", "events"])
    # one reader at a time: each run reads the stream on from the registry's position, so runs that overlap only
    # read the same messages again (the scheduler made 18 at once of a 1,000-message burst)
    dag_kwargs.setdefault("max_active_runs", 1)
    with DAG(
        dag_id=dag_id,
        description=f"Start a run of {job_dag_id} for each job message on the Redis stream {stream!r}.",
        schedule=[stream_asset(stream, redis_conn_id, **(trigger_kwargs or {}))],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        doc_md=__doc__,
        **dag_kwargs,
    ) as dag:

        @task(task_id="admit_messages", retries=2, retry_delay=timedelta(seconds=10))
        def admit_messages(triggering_asset_events: Any = None, dag_run: Any = None, ti: Any = None) -> dict[str, Any]:
            """Read and record the stream's new messages, start a job run for each admitted one."""
            from airflow_provider_enterprise.events.runs import trigger_run

            event_ids = [
                payload["message_id"]
                for events in (triggering_asset_events or {}).values()
                for event in events
                if (payload := event.extra.get("payload") or {}).get("stream") == stream
            ]
            result = admit(
                stream,
                event_ids,
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                redis_conn_id=redis_conn_id,
                metadata_conn_id=metadata_conn_id,
                max_messages=max_messages,
                retried=ti.try_number > 1,
            )
            started = sum(trigger_run(job_dag_id, s["run_id"], s["conf"]) for s in result["submissions"])
            log.info("Started %d of %d admitted jobs' runs", started, len(result["submissions"]))
            read_on = result["read_on_run_id"] if result["more"] else None
            if read_on is not None:
                trigger_run(dag_run.dag_id, read_on, {})
                log.info("Entries left unread: run %s reads on", read_on)
            return {"admitted": len(result["submissions"]), "started": started, "read_on": read_on}

        admit_messages()
    return dag
