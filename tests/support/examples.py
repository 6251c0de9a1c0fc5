"""Hypothesis settings for the property tests that run in CI: a bounded, repeatable number of examples."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def derandomized(max_examples: int, *health_checks: HealthCheck) -> settings:
    """
    Settings for ``max_examples`` derandomized examples (the same ones on every run), without a deadline (engines
    and files are slow), suppressing the health checks a slow test with fixtures trips, and ``health_checks``.
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, *health_checks],
    )
