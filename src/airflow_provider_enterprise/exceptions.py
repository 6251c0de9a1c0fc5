"""Errors shared by engines, hooks and operators.

Permanent errors fail a task at once (no retries help); transient ones may succeed on retry.
"""

from __future__ import annotations

from typing import Any


class EnterpriseError(Exception):
    """Base class of this provider's errors."""


class PermanentJobError(EnterpriseError):
    """An error that retrying cannot fix (bad spec, missing input, permission denied)."""


class InputNotFoundError(PermanentJobError):
    """The job's input path matches no file."""


class OutputExistsError(PermanentJobError):
    """The job's output exists and its ``mode`` is ``error_if_exists``."""


class OutputNotOwnedError(PermanentJobError):
    """The job's output path holds data no job committed there (a user's file, a symbolic link): never replaced."""

    @classmethod
    def of(cls, output_path: str, strangers: list[str], kind: str = "file") -> OutputNotOwnedError:
        """The error of an output holding ``strangers`` (``kind``: file or object), the first three named."""
        shown = ", ".join(repr(f) for f in strangers[:3]) + (
            f" and {len(strangers) - 3} more" if len(strangers) > 3 else ""
        )
        return cls(
            f"output_path {output_path!r} holds {len(strangers)} {kind}(s) no commit of a job wrote there ({shown}): "
            "they are never replaced; move them, or choose an output of its own"
        )


class OutputConflictError(PermanentJobError):
    """Another run committed the job's output path while this one ran: that run won, this one commits nothing."""

    @classmethod
    def of(cls, output_path: str) -> OutputConflictError:
        return cls(
            f"output_path {output_path!r} was committed by another run while this one ran: that run's output stands "
            "whole and this one commits nothing"
        )


class StorageConfigurationError(PermanentJobError):
    """An object store cannot be reached as configured: its connection is missing or no provider serves it."""


class BadRowsError(PermanentJobError):
    """Malformed input rows were found and the job's ``on_bad_rows`` is ``fail``."""


class DataQualityError(PermanentJobError):
    """
    Data-quality checks of severity ``fail`` failed: the output was not published. ``results`` holds every check's
    result of the run (as plain data), the failed ones among them.
    """

    def __init__(self, message: str, results: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.results = list(results or [])


class InputHeaderError(PermanentJobError):
    """A CSV input without a ``schema`` cannot name its columns: its files are empty, or its header repeats a name or
    leaves one empty (declaring the schema names them)."""


class PlanningError(PermanentJobError):
    """The processing logic does not fit the inputs' columns (raised before any data is read)."""


class MaskingKeyError(PermanentJobError):
    """A ``mask`` hashes a column, but its key connection is missing, empty or not readable."""


class EngineNotAvailableError(PermanentJobError):
    """The requested execution engine cannot run jobs in this installation."""


class SparkAuthenticationError(PermanentJobError):
    """
    Spark authentication (``spark.authenticate``) failed: the cluster refused the application's secret, or the
    secret cannot reach the application without leaking (retrying cannot help, fixing the connection can).
    """


class SparkApplicationError(EnterpriseError):
    """A Spark application failed for a reason a retry may fix (lost executors, an unreachable cluster)."""


class JobCancelledError(EnterpriseError):
    """A running job was stopped (its timeout passed, or the task was killed) and committed nothing."""


class JobTimeoutError(EnterpriseError):
    """The job ran longer than its ``timeout`` and was interrupted."""

    @classmethod
    def of(cls, job_name: str, timeout: float | None, detail: str = "") -> JobTimeoutError:
        """The error of job ``job_name`` past its ``timeout`` seconds (``detail``: what it was doing)."""
        return cls(f"job {job_name!r} exceeded its timeout of {timeout} s{f' {detail}' if detail else ''}")


class MetadataDatabaseNotConfigured(EnterpriseError):
    """No registry database is configured or running."""


class RegistryConnectionRefused(EnterpriseError):
    """The registry connection failed over its TLS or login settings: retrying cannot help, fixing them can."""


class InvalidTransitionError(EnterpriseError):
    """A registry state change whose guard did not match the row's current state."""
