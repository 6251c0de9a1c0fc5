"""
The one masking step of everything the provider stores or shows.

Attempt rows and dead letters (the registry hook's writes, so every caller), the audit trail (written by the
registry from the attempt row), the task's result (XCom), the plugin API's responses and the CLI's output all
pass through :func:`redact`. It applies Airflow's secrets masker (the secrets registered in this process, such as
the passwords of connections read here and the masking keys, and the values of keys with sensitive names) and the
job's own secrets: the values, at any depth, of ``job_data`` keys that name a password, secret, token, credential
or a secret key (``key``, ``api_key``, ``signing_key``), which Airflow's names do not all cover, wherever they
appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, TypeVar, cast

from airflow.sdk.log import mask_secret
from airflow.sdk.log import redact as airflow_redact  # type: ignore[attr-defined]  # imported there, not re-exported

T = TypeVar("T")

REPLACEMENT = "***"

#: How deep Airflow's masker looks for registered secrets in strings (its default, 5, stops above a job's filter
#: conditions: job, attempts, attempt, spec, processing_logic, transformations, transformation, condition).
MAX_DEPTH = 64

#: What a ``job_data`` key's name contains when its value is secret (as Airflow matches its own sensitive names:
#: anywhere in the name, any case).
JOB_SECRET_NAMES = re.compile(r"pass|secret|token|credential", re.IGNORECASE)
#: A ``job_data`` key named ``key``, or a kind of secret key (``api_key``, ``signingKey``, ``ssh-key``), compared
#: with separators removed. A key of data (``partition_key``, ``sort_key``) is not secret: masking its value
#: wherever it appears would mask column names in the stored spec, which a replay runs.
JOB_SECRET_KEYS = re.compile(r"(api|private|access|signing|encryption|auth|client|master|ssh|hmac)?key")


def is_secret_name(name: object) -> bool:
    """Return True if a ``job_data`` key of this name holds a secret."""
    text = str(name)
    return bool(JOB_SECRET_NAMES.search(text) or JOB_SECRET_KEYS.fullmatch(re.sub(r"[^a-z]", "", text.lower())))


#: Shorter values are only masked under their key, not wherever they appear (Airflow's masker has the same floor,
#: ``[logging] min_length_masked_secret``): replacing every "1" in an error message hides nothing.
MIN_SECRET_LENGTH = 5


def redact(value: T, *, register: bool = False) -> T:
    """
    Return a copy of ``value`` (JSON-like data or a string) with every secret replaced by ``***``.

    Secrets are what Airflow's secrets masker knows in this process, and the job's own: the values of the
    sensitive ``job_data`` keys (:func:`is_secret_name`) of every job spec that ``value`` holds, masked under
    their keys and wherever else they appear in ``value``, as written and as SQL or JSON quote them.

    :param register: also register the job's own secrets with Airflow's masker, so that this process's logs and
        its later redactions (an error message stored without its spec) mask them too. For the task process when
        it stores the spec; a process that only shows rows leaves its masker alone.
    """
    found: list[str] = []
    _map(value, lambda leaf, sensitive: found.append(str(leaf)) if sensitive else None)
    secrets = [secret for secret in found if len(secret) >= MIN_SECRET_LENGTH]
    if register:
        for secret in secrets:
            register_secret(secret)
    pattern = re.compile("|".join(re.escape(form) for form in _quoted(secrets))) if secrets else None

    def mask(leaf: Any, sensitive: bool) -> Any:
        if sensitive:
            return REPLACEMENT
        return pattern.sub(REPLACEMENT, leaf) if pattern is not None and isinstance(leaf, str) else leaf

    return cast(T, _map(airflow_redact(value, max_depth=MAX_DEPTH), mask))


def redact_error(error: BaseException) -> None:
    """
    Mask the arguments, and so the message, of ``error`` and of the errors it was raised from, in place: the task
    log shows them with the traceback, which log renderers may format after Airflow's masking processor.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        with suppress(AttributeError, TypeError):  # an extension's exception may not take new arguments
            current.args = redact(current.args)
        current = current.__cause__ or current.__context__


def register_secret(secret: str) -> None:
    """Register ``secret`` with Airflow's secrets masker as written and as SQL and JSON quote it."""
    for form in _quoted([secret]):
        mask_secret(form)


def _quoted(secrets: Iterable[str]) -> list[str]:
    """Each secret as written and as a SQL literal or a JSON string spells it, longest first."""
    forms: set[str] = set()
    for secret in secrets:
        forms |= {secret, secret.replace("'", "''"), secret.replace("'", "\\'"), json.dumps(secret)[1:-1]}
    return sorted(forms, key=len, reverse=True)


def _map(value: Any, leaf: Callable[[Any, bool], Any], in_job_data: bool = False, sensitive: bool = False) -> Any:
    """
    ``value`` with each leaf replaced by ``leaf(value, sensitive)``; ``sensitive``: the leaf is under a sensitive key
    of a ``job_data`` (None and booleans never are).
    """
    if isinstance(value, dict):
        mapped = {}
        for name, item in value.items():
            inside = in_job_data or (name == "job_data" and isinstance(item, dict))
            mapped[name] = _map(item, leaf, inside, sensitive or (in_job_data and is_secret_name(name)))
        return mapped
    if isinstance(value, list | tuple):
        return type(value)(_map(item, leaf, in_job_data, sensitive) for item in value)
    return leaf(value, sensitive and value is not None and not isinstance(value, bool))
