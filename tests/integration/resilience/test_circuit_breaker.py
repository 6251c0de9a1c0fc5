"""Circuit breakers on a real PostgreSQL, with an injected clock, and under 32 racing processes."""

from __future__ import annotations

import multiprocessing

import psycopg
import pytest

from airflow_provider_enterprise.config import CircuitBreakerSettings, load_settings
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.resilience.circuit_breaker import (
    CircuitBreaker,
    CircuitOpenError,
    admits,
    list_breakers,
)

pytestmark = pytest.mark.integration

SETTINGS = CircuitBreakerSettings(
    failure_threshold=3, reset_timeout=30, half_open_max_probes=2, success_threshold=2, probe_lease=10
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def hook_for(url: str) -> EnterpriseMetadataHook:
    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(request, registry, clock) -> CircuitBreaker:
    return CircuitBreaker(registry, f"spark:{request.node.name}"[:60], SETTINGS, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.acquire())


def test_closed_until_the_failure_threshold(breaker, clock) -> None:
    fail(breaker, 2)
    assert breaker.status()["state"] == "closed"
    breaker.record_success(breaker.acquire())  # a success resets the consecutive count
    fail(breaker, 2)
    assert (breaker.status()["state"], breaker.status()["consecutive_failures"]) == ("closed", 2)
    fail(breaker, 1)
    row = breaker.status()
    assert (row["state"], row["opened_at"]) == ("open", clock.now)
    assert (row["total_failures"], row["total_successes"]) == (5, 1)


def test_open_refuses_until_the_reset_timeout_boundary(breaker, clock) -> None:
    fail(breaker, 3)
    opened = clock.now
    clock.now = opened + 29.999
    with pytest.raises(CircuitOpenError, match="is open") as refused:
        breaker.acquire()
    assert refused.value.retry_at == opened + 30
    clock.now = opened + 30  # exactly at the boundary: probes allowed
    permit = breaker.acquire()
    assert permit.is_probe
    assert breaker.status()["state"] == "half_open"


def test_half_open_grants_exactly_the_permitted_probes_and_closes_after_successes(breaker, clock) -> None:
    fail(breaker, 3)
    clock.now += 30
    first, second = breaker.acquire(), breaker.acquire()
    with pytest.raises(CircuitOpenError, match="half_open"):
        breaker.acquire()
    breaker.record_success(first)
    assert breaker.status()["state"] == "half_open"
    with pytest.raises(CircuitOpenError):  # a finished probe does not free a slot in this period
        breaker.acquire()
    breaker.record_success(second)
    row = breaker.status()
    assert (row["state"], row["consecutive_failures"], row["probe_leases"]) == ("closed", 0, {})
    assert not breaker.acquire().is_probe


def test_any_probe_failure_reopens(breaker, clock) -> None:
    fail(breaker, 3)
    clock.now += 30
    first, second = breaker.acquire(), breaker.acquire()
    breaker.record_success(first)
    breaker.record_failure(second)
    row = breaker.status()
    assert (row["state"], row["opened_at"]) == ("open", clock.now)
    breaker.record_success(first)  # a stale permit of the old period changes nothing
    assert breaker.status()["state"] == "open"


def test_a_probe_that_fails_for_its_own_reasons_frees_its_slot_and_counts_nothing(breaker, clock) -> None:
    """A permanent error (bad data) under a probe says nothing about the resource: another job probes at once."""
    fail(breaker, 3)
    clock.now += 30
    first, second = breaker.acquire(), breaker.acquire()
    failures = breaker.status()["total_failures"]
    breaker.release(first)
    row = breaker.status()
    assert (row["state"], row["total_failures"], list(row["probe_leases"])) == (
        "half_open",
        failures,
        [second.probe_token],
    )
    third = breaker.acquire()  # the freed slot, before any lease ran out
    assert third.is_probe
    breaker.record_success(second)
    breaker.record_success(third)
    assert (breaker.status()["state"], breaker.status()["total_failures"]) == ("closed", failures)
    breaker.release(breaker.acquire())  # a closed breaker's permit: nothing to free, nothing counted
    assert (breaker.status()["state"], breaker.status()["consecutive_failures"]) == ("closed", 0)


def test_a_dead_probers_lease_expires_and_its_slot_is_granted_again(breaker, clock) -> None:
    fail(breaker, 3)
    clock.now += 30
    breaker.acquire()
    breaker.acquire()  # both probers die without reporting
    clock.now += 9.999
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now += 0.001  # the leases run out
    assert breaker.acquire().is_probe
    assert breaker.acquire().is_probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_admits_predicts_acquire(breaker, clock) -> None:
    assert admits(None, SETTINGS, clock.now)
    fail(breaker, 3)
    assert not admits(breaker.status(), SETTINGS, clock.now + 29)
    assert admits(breaker.status(), SETTINGS, clock.now + 30)
    clock.now += 30
    breaker.acquire()
    assert admits(breaker.status(), SETTINGS, clock.now)  # one of two probes left
    breaker.acquire()
    assert not admits(breaker.status(), SETTINGS, clock.now)


def test_reset_closes_by_hand_and_lists(breaker, registry) -> None:
    fail(breaker, 3)
    breaker.reset()
    assert breaker.status()["state"] == "closed"
    assert breaker.name in [row["name"] for row in list_breakers(registry)]


def test_settings_that_could_never_close_are_refused() -> None:
    with pytest.raises(ValueError, match="could never close"):
        CircuitBreakerSettings(half_open_max_probes=1, success_threshold=2)


# -- many processes -------------------------------------------------------------------------------------------

PROCESSES = 32
TRIALS = 1_000
FAILURES_EACH = 25
HAMMER = CircuitBreakerSettings(failure_threshold=10**9, reset_timeout=1, half_open_max_probes=3, probe_lease=60)


def _hammer(url: str, barrier, results, worker: int) -> None:
    hook = hook_for(url)
    clock = Clock(2_000_000.0)
    breaker = CircuitBreaker(hook, "hammer:probes", HAMMER, clock=clock)
    granted = []
    for trial in range(TRIALS):
        barrier.wait()  # the coordinator has opened the breaker for this trial
        clock.now = 2_000_000.0 + trial * 10 + 5
        try:
            breaker.acquire()
            granted.append(trial)
        except CircuitOpenError:
            pass
        barrier.wait()
    counter = CircuitBreaker(hook, "hammer:failures", HAMMER, clock=clock)
    for _ in range(FAILURES_EACH):
        counter.record_failure(counter.acquire())
    results.put((worker, granted))


def test_32_processes_get_exactly_the_permitted_probes_in_1000_trials(registry_url: str) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES + 1)
    results = context.Queue()
    workers = [context.Process(target=_hammer, args=(registry_url, barrier, results, i)) for i in range(PROCESSES)]
    for process in workers:
        process.start()
    with psycopg.connect(registry_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO enterprise_circuit_breakers (name, updated_at) VALUES ('hammer:probes', 0)"
            " ON CONFLICT DO NOTHING"
        )
        for trial in range(TRIALS):
            conn.execute(  # opened long enough ago that the trial's clock admits probes
                "UPDATE enterprise_circuit_breakers SET state = 'open', opened_at = %s, probe_leases = '{}',"
                " probe_successes = 0, generation = generation + 1 WHERE name = 'hammer:probes'",
                (2_000_000.0 + trial * 10,),
            )
            barrier.wait(timeout=120)
            barrier.wait(timeout=120)
    grants: dict[int, int] = {}
    for _ in workers:
        _, granted = results.get(timeout=300)
        for trial in granted:
            grants[trial] = grants.get(trial, 0) + 1
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert [trial for trial in range(TRIALS) if grants.get(trial, 0) != HAMMER.half_open_max_probes] == []
    with psycopg.connect(registry_url) as conn:
        failures = conn.execute(
            "SELECT total_failures, consecutive_failures FROM enterprise_circuit_breakers"
            " WHERE name = 'hammer:failures'"
        ).fetchone()
    assert failures == (PROCESSES * FAILURES_EACH, PROCESSES * FAILURES_EACH)
