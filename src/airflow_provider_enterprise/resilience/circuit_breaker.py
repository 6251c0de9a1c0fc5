"""
Circuit breakers whose state lives in the registry, shared by every worker.

CLOSED -> OPEN after ``failure_threshold`` consecutive failures; OPEN -> HALF_OPEN once ``reset_timeout`` has
passed; in HALF_OPEN exactly ``half_open_max_probes`` probes are granted (each holds a lease that expires if
its prober dies); ``success_threshold`` probe successes close the breaker, any probe failure opens it again.
Every change is one guarded UPDATE, so concurrent workers never read-modify-write. Times come from an
injectable clock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise import metrics
from airflow_provider_enterprise.config import CircuitBreakerSettings
from airflow_provider_enterprise.exceptions import EnterpriseError
from airflow_provider_enterprise.registry.connection import dict_rows, reconnecting

if TYPE_CHECKING:
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(EnterpriseError):
    """The breaker refuses calls; ``retry_at`` is when it may admit one (epoch seconds)."""

    def __init__(self, name: str, state: str, retry_at: float) -> None:
        super().__init__(f"circuit {name!r} is {state}; calls refused until {time.ctime(retry_at)}")
        self.name = name
        self.state = state
        self.retry_at = retry_at


@dataclass(frozen=True)
class Permit:
    """Permission to call the protected resource; report its outcome with the same permit."""

    name: str
    generation: int
    probe_token: str | None = None

    @property
    def is_probe(self) -> bool:
        return self.probe_token is not None


_LIVE_LEASES = (
    "(SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)"
    " FROM jsonb_each(probe_leases) WHERE value::float8 > %(now)s)"
)
_LIVE_LEASE_COUNT = "(SELECT count(*) FROM jsonb_each(probe_leases) WHERE value::float8 > %(now)s)"


class CircuitBreaker:
    """
    One breaker over the registry database.

    :param hook: the registry.
    :param name: the protected resource, e.g. ``spark:spark_default``.
    :param settings: thresholds.
    :param clock: returns epoch seconds; injectable for tests.
    """

    def __init__(
        self,
        hook: EnterpriseMetadataHook,
        name: str,
        settings: CircuitBreakerSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hook = hook
        self.name = name
        self.settings = settings or hook.settings.circuit_breaker
        self.clock = clock

    def _params(self, **extra: Any) -> dict[str, Any]:
        s = self.settings
        return {
            "name": self.name,
            "now": self.clock(),
            "failure_threshold": s.failure_threshold,
            "reset_timeout": s.reset_timeout,
            "max_probes": s.half_open_max_probes,
            "success_threshold": s.success_threshold,
            "lease": s.probe_lease,
            **extra,
        }

    @reconnecting
    def _execute(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self.hook.transaction() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    @reconnecting
    def status(self) -> dict[str, Any]:
        """Return the breaker's row (created closed if missing)."""
        params = self._params()
        with self.hook.transaction() as cur:
            cur.execute(
                "INSERT INTO enterprise_circuit_breakers (name, updated_at) VALUES (%(name)s, %(now)s)"
                " ON CONFLICT (name) DO NOTHING",
                params,
            )
            cur.execute("SELECT * FROM enterprise_circuit_breakers WHERE name = %(name)s", params)
            return dict_rows(cur)[0]

    def acquire(self) -> Permit:
        """
        Return a permit to call the resource, or raise :class:`CircuitOpenError`.

        An OPEN breaker whose reset timeout has passed moves to HALF_OPEN here; in HALF_OPEN a probe slot is
        reserved atomically or the call is refused.
        """
        row = self.status()
        state = BreakerState(row["state"])
        if state is BreakerState.CLOSED:
            return Permit(self.name, row["generation"])
        params = self._params(token=uuid.uuid4().hex)
        if state is BreakerState.OPEN:
            retry_at = row["opened_at"] + self.settings.reset_timeout
            if params["now"] < retry_at:
                raise CircuitOpenError(self.name, state.value, retry_at)
            self._report(
                self._execute(
                    "UPDATE enterprise_circuit_breakers SET state = 'half_open', generation = generation + 1,"
                    " probe_leases = '{}', probe_successes = 0, updated_at = %(now)s"
                    " WHERE name = %(name)s AND state = 'open' AND opened_at + %(reset_timeout)s <= %(now)s"
                    " RETURNING state",
                    params,
                )
            )
        granted = self._execute(
            "UPDATE enterprise_circuit_breakers"
            f" SET probe_leases = {_LIVE_LEASES} || jsonb_build_object(%(token)s::text, %(now)s + %(lease)s),"
            " updated_at = %(now)s"
            " WHERE name = %(name)s AND state = 'half_open'"
            f" AND {_LIVE_LEASE_COUNT} + probe_successes < %(max_probes)s"
            " RETURNING generation",
            params,
        )
        if granted:
            return Permit(self.name, granted[0][0], params["token"])
        row = self.status()
        if row["state"] == BreakerState.CLOSED:  # closed by other probes meanwhile
            return Permit(self.name, row["generation"])
        leases = [float(v) for v in row["probe_leases"].values()]
        retry_at = min(leases) if leases else params["now"] + self.settings.reset_timeout
        raise CircuitOpenError(self.name, row["state"], retry_at)

    def record_success(self, permit: Permit) -> None:
        """Report that the call made under ``permit`` succeeded."""
        params = self._params(token=permit.probe_token, generation=permit.generation)
        if not permit.is_probe:
            self._execute(
                "UPDATE enterprise_circuit_breakers SET total_successes = total_successes + 1,"
                " consecutive_failures = CASE WHEN state = 'closed' THEN 0 ELSE consecutive_failures END,"
                " updated_at = %(now)s WHERE name = %(name)s RETURNING state",
                params,
            )
            return
        changed = self._execute(
            "UPDATE enterprise_circuit_breakers SET total_successes = total_successes + 1,"
            " probe_successes = probe_successes + 1, probe_leases = probe_leases - %(token)s::text,"
            " state = CASE WHEN probe_successes + 1 >= %(success_threshold)s THEN 'closed' ELSE state END,"
            " consecutive_failures = 0,"
            " generation = CASE WHEN probe_successes + 1 >= %(success_threshold)s THEN generation + 1"
            " ELSE generation END,"
            " opened_at = CASE WHEN probe_successes + 1 >= %(success_threshold)s THEN NULL ELSE opened_at END,"
            " updated_at = %(now)s"
            " WHERE name = %(name)s AND state = 'half_open' AND generation = %(generation)s"
            " AND probe_leases ? %(token)s::text RETURNING state",
            params,
        )
        self._report(changed)

    def record_failure(self, permit: Permit) -> None:
        """Report that the call made under ``permit`` failed (a failure of the resource, not of the job spec)."""
        params = self._params(token=permit.probe_token, generation=permit.generation)
        if permit.is_probe:
            opened = self._execute(
                "UPDATE enterprise_circuit_breakers SET state = 'open', opened_at = %(now)s,"
                " generation = generation + 1, probe_leases = '{}', probe_successes = 0,"
                " total_failures = total_failures + 1, updated_at = %(now)s"
                " WHERE name = %(name)s AND state = 'half_open' AND generation = %(generation)s RETURNING state",
                params,
            )
        else:
            opened = self._execute(
                "UPDATE enterprise_circuit_breakers SET total_failures = total_failures + 1,"
                " consecutive_failures = consecutive_failures + 1,"
                " state = CASE WHEN consecutive_failures + 1 >= %(failure_threshold)s THEN 'open' ELSE 'closed' END,"
                " opened_at = CASE WHEN consecutive_failures + 1 >= %(failure_threshold)s THEN %(now)s"
                " ELSE opened_at END,"
                " generation = CASE WHEN consecutive_failures + 1 >= %(failure_threshold)s THEN generation + 1"
                " ELSE generation END,"
                " updated_at = %(now)s"
                " WHERE name = %(name)s AND state = 'closed' RETURNING state",
                params,
            )
        if not opened:  # the breaker changed state meanwhile: still count the failure
            opened = self._execute(
                "UPDATE enterprise_circuit_breakers SET total_failures = total_failures + 1, updated_at = %(now)s"
                " WHERE name = %(name)s RETURNING state",
                params,
            )
        self._report(opened)

    def release(self, permit: Permit) -> None:
        """
        Report that the call made under ``permit`` failed for a reason of its own (a permanent error: bad data, a
        bad spec), which says nothing about the resource: no failure is counted, and a probe's slot is freed for
        another probe at once instead of when its lease runs out.
        """
        if permit.is_probe:
            self._execute(
                "UPDATE enterprise_circuit_breakers SET probe_leases = probe_leases - %(token)s::text,"
                " updated_at = %(now)s WHERE name = %(name)s AND state = 'half_open' AND generation = %(generation)s"
                " RETURNING state",
                self._params(token=permit.probe_token, generation=permit.generation),
            )

    def reset(self) -> None:
        """Close the breaker by hand (``enterprise-orchestrator circuits reset``)."""
        self.status()
        rows = self._execute(
            "UPDATE enterprise_circuit_breakers SET state = 'closed', consecutive_failures = 0,"
            " generation = generation + 1, opened_at = NULL, probe_leases = '{}', probe_successes = 0,"
            " updated_at = %(now)s WHERE name = %(name)s RETURNING state",
            self._params(),
        )
        self._report(rows)

    def _report(self, rows: list[tuple[Any, ...]]) -> None:
        """Emit the breaker's state gauge from an UPDATE's ``RETURNING state`` (nothing when no row changed)."""
        if rows:
            metrics.gauge(metrics.CIRCUIT_STATE, metrics.CIRCUIT_STATE_VALUES[rows[0][0]], breaker=self.name)


def admits(row: dict[str, Any] | None, settings: CircuitBreakerSettings, now: float) -> bool:
    """Return whether a breaker in state ``row`` would grant a permit at ``now`` (no row: never used, closed)."""
    if row is None or row["state"] == BreakerState.CLOSED:
        return True
    if row["state"] == BreakerState.OPEN:
        return bool(now >= row["opened_at"] + settings.reset_timeout)
    live = sum(1 for expiry in row["probe_leases"].values() if float(expiry) > now)
    return bool(live + row["probe_successes"] < settings.half_open_max_probes)


def list_breakers(hook: EnterpriseMetadataHook, name: str | None = None) -> list[dict[str, Any]]:
    """Return every breaker's row by name (``name``: only that breaker's, if it exists)."""
    with hook.transaction() as cur:
        cur.execute(
            "SELECT * FROM enterprise_circuit_breakers WHERE (%(name)s::text IS NULL OR name = %(name)s) ORDER BY name",
            {"name": name},
        )
        return dict_rows(cur)
