"""Triggers' registry queries share one async connection pool per event loop instead of connecting per poll."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from airflow_provider_enterprise.hooks import metadata
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.registry import connection

pytestmark = pytest.mark.integration


def backends(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def test_many_polls_at_once_share_a_few_connections(registry: EnterpriseMetadataHook, registry_url: str) -> None:
    key = JobKey("pool_dag", "run_1", "process")
    registry.start_attempt(registry.register_job(key, job_name="p", job_type="p"), 1)
    before = backends(registry_url)

    async def polls() -> tuple[list[str | None], int, int]:
        hooks = [EnterpriseMetadataHook(settings=registry.settings) for _ in range(200)]  # one per trigger
        states = await asyncio.gather(*(hook.ajob_state(key) for hook in hooks))
        during = backends(registry_url)
        more = await asyncio.gather(*(hook.ajob_state(key) for hook in hooks[:20]))
        return [*states, *more], during, len(connection._async_pools[asyncio.get_running_loop()])

    states, during, pools = asyncio.run(polls())
    assert set(states) == {"running"} and len(states) == 220
    assert pools == 1  # one pool for this registry in this loop
    assert during - before <= metadata.ASYNC_POOL_MAX_SIZE
    assert asyncio.run(EnterpriseMetadataHook(settings=registry.settings).ajob_state(key)) == "running"  # a new loop


def test_later_polls_do_not_read_the_connections_extras_again(
    registry: EnterpriseMetadataHook, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the triggerer, reading extras sends them to the supervisor to mask: a round trip each poll would wait on."""
    from airflow.sdk import Connection

    key = JobKey("pool_dag", "run_extras", "process")
    registry.start_attempt(registry.register_job(key, job_name="p", job_type="p"), 1)
    reads: list[str] = []
    extra_dejson, aextra_dejson = Connection.extra_dejson, Connection.aextra_dejson

    async def counted_aextra_dejson(self):
        reads.append("aextra_dejson")
        return await aextra_dejson(self)

    monkeypatch.setattr(
        Connection, "extra_dejson", property(lambda self: reads.append("extra_dejson") or extra_dejson.fget(self))
    )
    monkeypatch.setattr(Connection, "aextra_dejson", counted_aextra_dejson)
    hook = EnterpriseMetadataHook(settings=registry.settings)

    async def polls() -> tuple[list[str | None], int]:
        first = await hook.ajob_state(key)
        after_first = len(reads)
        later = [await hook.ajob_state(key) for _ in range(5)]
        return [first, *later], after_first

    states, after_first = asyncio.run(polls())
    assert states == ["running"] * 6
    assert after_first >= 1  # the first poll builds the connection string from the extras
    assert len(reads) == after_first
