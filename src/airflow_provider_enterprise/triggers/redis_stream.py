"""
Watch a Redis stream for an asset (an ``AssetWatcher``): each entry becomes one asset event, acknowledged only
once Airflow has stored it.

The stream is read by a consumer group (``XREADGROUP``) through the triggerer's shared streams in ack mode
(:mod:`airflow.triggers.shared_stream`): an entry is acknowledged (``XACK``) once the asset event made of it is
persisted in Airflow's metadata database. Entries read but never acknowledged (the triggerer stopped or crashed
in between) stay pending in the group and are read again first when the stream is opened next, so a restart
loses nothing and may deliver an entry twice: consumers must be idempotent (the queue-fed job DAG is). Unlike
the common-messaging ``MessageQueueTrigger`` on Redis pub/sub, entries published while no triggerer listens wait
in the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow.triggers.shared_stream import SharedStreamProducer

if TYPE_CHECKING:
    from airflow.triggers.shared_stream import AdvanceItem

CLASSPATH = "airflow_provider_enterprise.triggers.redis_stream.RedisStreamTrigger"


class RedisStreamTrigger(BaseEventTrigger):
    """
    Fire one event per entry of a Redis stream: ``{"stream": ..., "message_id": ...}``.

    The entry's content stays in the stream: the triggerer logs each event and Airflow stores it in its metadata
    database, where a job's secrets must not go. The consumer of the asset reads the entry by its id.

    :param stream: the stream's key.
    :param redis_conn_id: Airflow connection of the Redis server (host, port, login, password; ``db`` and ``ssl``
        in its extra).
    :param group: the consumer group; it is created at the stream's start when missing (``MKSTREAM``).
    :param consumer: the consumer's name in the group; keep it stable, pending entries belong to it.
    :param batch_size: entries read per ``XREADGROUP``.
    :param block_ms: how long one read waits for new entries.
    """

    def __init__(
        self,
        *,
        stream: str,
        redis_conn_id: str = "redis_default",
        group: str = "airflow",
        consumer: str = "triggerer",
        batch_size: int = 100,
        block_ms: int = 5000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]  # Airflow's, unannotated
        self.stream = stream
        self.redis_conn_id = redis_conn_id
        self.group = group
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {
            "stream": self.stream,
            "redis_conn_id": self.redis_conn_id,
            "group": self.group,
            "consumer": self.consumer,
            "batch_size": self.batch_size,
            "block_ms": self.block_ms,
        }

    def shared_stream_key(self) -> Hashable:
        return ("redis-stream", self.redis_conn_id, self.stream, self.group, self.consumer)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> RedisStreamProducer:
        return RedisStreamProducer(**kwargs)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for entry in shared_stream:
            yield TriggerEvent(entry)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        raise RuntimeError(f"{type(self).__name__} runs only as a shared stream in ack mode (an asset's watcher)")
        yield  # pragma: no cover - an async generator


@dataclass
class RedisStreamProducer(SharedStreamProducer):
    """Read a stream by a consumer group: this consumer's pending entries first, then new ones; ack when advanced."""

    stream: str
    redis_conn_id: str
    group: str
    consumer: str
    batch_size: int
    block_ms: int
    _redis: Any = field(default=None, init=False, repr=False)

    async def open_stream(self) -> AsyncIterator[tuple[dict[str, Any], str]]:
        from redis.exceptions import ResponseError

        self._redis = redis = await connect(self.redis_conn_id)
        try:
            await redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        cursor = "0"  # this consumer's pending entries: read before a restart, never acknowledged
        while True:
            block = self.block_ms if cursor == ">" else None
            reply = await redis.xreadgroup(
                self.group, self.consumer, {self.stream: cursor}, count=self.batch_size, block=block
            )
            entries = reply[0][1] if reply else []
            if cursor != ">":
                if not entries:
                    cursor = ">"  # then new entries
                    continue
                cursor = entries[-1][0]
            for raw_id, _ in entries:
                message_id = raw_id.decode()
                yield {"stream": self.stream, "message_id": message_id}, message_id

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        """Acknowledge the entries whose events Airflow stored; the others stay pending, read again next time."""
        done = [item.broker_payload for item in batch if item.outcome.is_clean]
        if done:
            await self._redis.xack(self.stream, self.group, *done)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


async def connect(redis_conn_id: str) -> Any:
    """An asyncio Redis client for an Airflow connection (read with the async connection lookup)."""
    from airflow.sdk import BaseHook
    from redis.asyncio import Redis

    conn = await BaseHook.aget_connection(redis_conn_id)
    extra = conn.extra_dejson
    return Redis(
        host=conn.host or "localhost",
        port=conn.port or 6379,
        username=conn.login or None,
        password=conn.password or None,
        db=int(extra.get("db") or 0),
        ssl=bool(extra.get("ssl", False)),
    )
