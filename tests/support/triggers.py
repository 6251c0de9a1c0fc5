"""Run a trigger as the triggerer does, in a test: until its first event."""

from __future__ import annotations

import asyncio

from airflow.triggers.base import BaseTrigger, TriggerEvent


def first_event(trigger: BaseTrigger, timeout: float = 30) -> TriggerEvent:
    """Run ``trigger`` until it sends its first event (failing past ``timeout`` seconds) and return it."""

    async def run() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError(f"{trigger!r} ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout))
