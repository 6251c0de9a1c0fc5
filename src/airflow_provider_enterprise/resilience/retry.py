"""
Named retry policies mapped onto Airflow's retries and ``retry_policy``.

The seed counts every attempt, so a policy with ``max_attempts`` becomes ``retries = max_attempts - 1``. The
delay before retry ``n`` is ``min(initial_delay * 2 ** (n - 1), max_delay)`` times a jitter in ``[0.5, 1)``,
returned as ``RetryDecision.retry(delay=...)`` (Airflow's own backoff and jitter differ). Permanent errors
fail at once; which errors are transient is decided by :mod:`airflow_provider_enterprise.resilience.errors`, with
the policy's own ``transient_errors`` / ``permanent_errors``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from airflow_provider_enterprise.config import RetryPolicySettings, Settings, load_settings
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error

if TYPE_CHECKING:
    from airflow.sdk import Context


class NamedRetryPolicy(RetryPolicy):
    """
    Decide retries with one of the named policies.

    :param name: the policy's name (``default``, ``network_error``, ``resource_exhausted``,
        ``temporary_failure``, ``critical_job`` or one from the ``retry_policies`` config section).
    :param settings: its limits; looked up by name in the provider settings when omitted.
    :param jitter: returns a float in ``[0, 1)``; injectable for tests.
    """

    def __init__(
        self,
        name: str = "default",
        settings: RetryPolicySettings | None = None,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self.settings = settings or load_settings().retry_policy(name)
        self._jitter = jitter
        self._decided: tuple[BaseException, RetryDecision] | None = None

    @property
    def max_attempts(self) -> int:
        return self.settings.max_attempts

    @property
    def retries(self) -> int:
        """Airflow ``retries`` for this policy (every attempt counts, the first included)."""
        return self.settings.max_attempts - 1

    def classify(self, error: BaseException) -> ErrorKind:
        """Whether ``error`` is permanent or transient for jobs using this policy."""
        return classify_error(error, self.settings)

    def delay(self, try_number: int) -> float:
        """Seconds to wait after failed try ``try_number`` (1-based), jitter included."""
        base = min(self.settings.initial_delay * 2.0 ** (max(try_number, 1) - 1), self.settings.max_delay)
        return base * (0.5 + 0.5 * self._jitter())

    def decide(self, exception: BaseException, try_number: int) -> RetryDecision:
        """Return the decision for ``exception`` on try ``try_number``; the same object yields the same decision."""
        if self._decided and self._decided[0] is exception:
            return self._decided[1]
        kind = self.classify(exception)
        label = f"{type(exception).__name__} is {kind.value}"
        if kind is ErrorKind.PERMANENT:
            decision = RetryDecision.fail(reason=f"{label}; policy {self.name!r} does not retry it")
        elif try_number >= self.max_attempts:
            decision = RetryDecision.fail(
                reason=f"{label}; policy {self.name!r} allows {self.max_attempts} attempts, all used"
            )
        else:
            seconds = self.delay(try_number)
            decision = RetryDecision.retry(
                delay=timedelta(seconds=seconds),
                reason=f"{label}; policy {self.name!r} retries attempt {try_number + 1} in {seconds:.1f} s",
            )
        self._decided = (exception, decision)
        return decision

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Context | None = None
    ) -> RetryDecision:
        return self.decide(exception, try_number)


def retry_policy_args(name: str = "default", settings: Settings | None = None) -> dict[str, Any]:
    """
    Return ``retries``, ``retry_policy`` and ``retry_delay`` for the named policy, to spread into
    ``default_args``. ``retry_delay`` (the policy's initial delay) applies when the policy cannot be asked,
    e.g. after the task process was killed.

    .. code-block:: python

        DAG(..., default_args={**retry_policy_args("network_error"), "owner": "data"})
    """
    settings = settings or load_settings()
    policy = NamedRetryPolicy(name, settings.retry_policy(name))
    return {
        "retries": policy.retries,
        "retry_policy": policy,
        "retry_delay": timedelta(seconds=policy.settings.initial_delay),
    }
