"""Triggers' registry queries share one async connection pool per event loop instead of connecting per poll."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from airflow_provider_enterprise.hooks import metadata
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey

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
        return [*states, *more], during, len(metadata._async_pools[asyncio.get_running_loop()])

    states, during, pools = asyncio.run(polls())
    assert set(states) == {"running"} and len(states) == 220
    assert pools == 1  # one pool for this registry in this loop
    assert during - before <= metadata.ASYNC_POOL_MAX_SIZE
    assert asyncio.run(EnterpriseMetadataHook(settings=registry.settings).ajob_state(key)) == "running"  # a new loop
