"""
The convention every polling trigger of the provider follows.

A trigger is a dataclass: its fields are its keyword arguments, which :meth:`PollingTrigger.serialize` hands to
Airflow and the triggerer rebuilds it from. It polls until :meth:`PollingTrigger.poll` returns its event or its
deadline passes. Its event is a frozen dataclass (a :class:`TriggerPayload`) that travels as a JSON-serialisable
dict, the form Airflow stores, and that ``execute_complete`` reads back typed.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Generic, Self, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent
from pydantic import TypeAdapter, ValidationError

#: Validators of the payload classes, made once per class.
_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


@dataclass(frozen=True)
class TriggerPayload:
    """
    Base of a trigger's event: a frozen dataclass of JSON values, sent as a dict in a :class:`TriggerEvent`.

    Airflow stores the payload with the deferred task, so a task resumed after an upgrade may read a payload an
    older version wrote: keys a payload class does not know are ignored, and fields added later have defaults.
    """

    def to_payload(self) -> dict[str, Any]:
        """Return the event as the trigger sends it: a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """
        Read an event a trigger sent (or an older version of it stored).

        :raises ValueError: naming each missing or bad field.
        """
        if not isinstance(payload, Mapping):
            raise ValueError(f"a {cls.__name__} payload is a mapping of fields, not {type(payload).__name__}")
        adapter = _ADAPTERS.get(cls)
        if adapter is None:
            adapter = _ADAPTERS[cls] = TypeAdapter(cls)
        try:
            event: Self = adapter.validate_python(dict(payload))
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            raise ValueError(f"not a {cls.__name__} payload: {problems}") from None
        return event


EventT = TypeVar("EventT", bound=TriggerPayload)


@dataclass(kw_only=True, eq=False, repr=False)
class PollingTrigger(BaseTrigger, Generic[EventT]):
    """
    Poll until :meth:`poll` returns an event, or send :meth:`timed_out`'s once ``deadline`` passes.

    Subclasses are dataclasses too (``@dataclass(kw_only=True, eq=False, repr=False)``): their fields are the
    keyword arguments :meth:`serialize` returns; state kept between polls lives in fields with ``init=False``.
    The trigger enforces the deadline itself: Airflow's deferral timeout ends the task without any cleanup.

    :param deadline: epoch seconds after which the timeout event is sent; None waits forever.
    :param poll_interval: seconds between polls.
    """

    deadline: float | None = None
    poll_interval: float = 5.0

    def __post_init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's, unannotated

    def serialize(self) -> tuple[str, dict[str, Any]]:
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    @abstractmethod
    async def poll(self) -> EventT | None:
        """Look once: return the event that ends the wait, or None to look again after ``poll_interval``."""

    @abstractmethod
    def timed_out(self) -> EventT:
        """Return the event sent when the deadline passed first."""

    def trigger_event(self, event: EventT) -> TriggerEvent:
        """Return the Airflow event that carries ``event`` to ``execute_complete``."""
        return TriggerEvent(event.to_payload())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            event = await self.poll()
            if event is None and self.deadline is not None and time.time() >= self.deadline:
                event = self.timed_out()
            if event is not None:
                yield self.trigger_event(event)
                return
            await asyncio.sleep(self.poll_interval)
