"""
Which committed output a try takes as its own instead of running its job again.

Each try commits as a run named ``enterprise-<job_id>-<try>-<random>`` (:func:`run_id`); both engines write that
name into the output's manifest, so the manifest says which try of which job published the output.

Airflow runs a task instance again in two cases that look alike from the registry: a **retry** (Airflow never heard
the earlier try end, e.g. its task process or supervisor was SIGKILLed after the job committed, perhaps after the
attempt was recorded succeeded) and a **clear** by a user (who wants the job run again, even after a success). They
differ in the task instance's ``max_tries``: a new task instance gets ``max_tries = retries``, and each clear sets
``max_tries = try_number + retries`` (``clear_task_instances``, and the scheduler for a running task that was cleared
and ended cleanly), while a retry leaves it alone. So the first try since the task instance was created or last
cleared is ``max_tries - retries + 1``, as Airflow's own ``RuntimeTaskInstance.get_first_reschedule_date`` counts
it (:class:`Tries`). A later try is a retry: when a try of the same series committed the output, the retry takes
that commit's figures (rows, bad rows, checks, manifest) and publishes nothing (:func:`committed_earlier`).
``context['task_state_store']`` cannot tell them apart: Airflow keeps it across retries *and* clears (it is emptied
only on success, and only with ``[state_store] clear_on_success``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.engines.base import JobResult

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from airflow_provider_enterprise.clients.spark_status import ApplicationStatus, SparkApplicationTracker
    from airflow_provider_enterprise.spec import JobSpec

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"enterprise-(?P<job>\d+)-(?P<try>\d+)-")


def run_id(job_id: int, try_number: int) -> str:
    """A new name for a run of try ``try_number`` of job ``job_id`` (a Spark application's name, a manifest's)."""
    return f"enterprise-{job_id}-{try_number}-{uuid.uuid4().hex[:8]}"


def try_of(name: str, job_id: int) -> int | None:
    """The try of job ``job_id`` that named run ``name``; None for another job's run or another name."""
    match = _RUN_ID.match(name)
    return int(match["try"]) if match and int(match["job"]) == job_id else None


def tries_through(job_id: int, try_number: int) -> Callable[[str], bool]:
    """Whether a run name (or a name that starts with one) is of job ``job_id``'s try ``try_number`` or earlier."""

    def through(name: str) -> bool:
        other = try_of(name, job_id)
        return other is not None and other <= try_number

    return through


def earlier_tries(run: str) -> Callable[[str], bool] | None:
    """
    Whether a run name (or a name that starts with one) is of an earlier try of run ``run``'s job; None when
    ``run`` is not a job's (:func:`run_id`) or is its first try (nothing earlier to look for).
    """
    match = _RUN_ID.match(run)
    if match is None or int(match["try"]) <= 1:
        return None
    return tries_through(int(match["job"]), int(match["try"]) - 1)


@dataclass(frozen=True)
class Tries:
    """A try of a job and the first try of its series: the task instance's tries since it was created or cleared."""

    job_id: int
    try_number: int
    first_try: int

    @classmethod
    def of(cls, job_id: int, try_number: int, *, max_tries: int, retries: int) -> Tries:
        """From the task instance's ``try_number`` and ``max_tries`` and the task's ``retries`` (see the module)."""
        return cls(job_id, try_number, min(max(max_tries - retries + 1, 1), try_number))

    @property
    def is_retry(self) -> bool:
        """Whether an earlier try of the series ran (and Airflow retried it), as opposed to a first or cleared try."""
        return self.try_number > self.first_try


@dataclass(frozen=True)
class Commit:
    """A committed output: the run that published it and its manifest."""

    run_id: str
    manifest: dict[str, Any]

    def result(self, spec: JobSpec, seconds: float | None = None, external_id: str | None = None) -> JobResult:
        """The figures of the commit (:func:`manifest_result`)."""
        return manifest_result(spec, self.manifest, seconds, external_id or self.run_id)


class ReusedOutput:
    """The engine of a retry whose series committed the output already: it runs nothing, publishes nothing, and
    reports the commit's figures."""

    def __init__(self, commit: Commit) -> None:
        self.commit = commit
        self.name = str(commit.manifest.get("engine", "spark"))

    def run(self, spec: JobSpec) -> JobResult:
        """Return the figures of the earlier try's commit of ``spec``'s output."""
        return self.commit.result(spec)


def manifest_result(
    spec: JobSpec, manifest: Mapping[str, Any], seconds: float | None, external_id: str | None
) -> JobResult:
    """
    The figures of a committed output, from its manifest (either engine's).

    :param seconds: the job's duration; None: the one the manifest records (0 when it records none).
    """
    if seconds is None:
        seconds = manifest.get("timings", {}).get("total_seconds", 0.0)
    return JobResult(
        engine=manifest.get("engine", "spark"),
        output_path=spec.output_path,
        rows_in=manifest["rows_in"],
        rows_out=manifest["rows_out"],
        duration_seconds=round(seconds, 3),
        output_files=[f["path"] if isinstance(f, dict) else f for f in manifest["files"]],  # dicts: on a store
        external_id=external_id,
        bad_rows=manifest["bad_rows"],
        bad_rows_path=manifest["bad_rows_path"],
        input_records={name: counts["records"] for name, counts in manifest.get("inputs", {}).items()},
        checks=manifest.get("checks", []),
        input_columns=manifest.get("input_columns", {}),
    )


def committed_by_job(
    spec: JobSpec,
    job_id: int,
    *,
    tries: range | None = None,
    filesystems: Mapping[str, AbstractFileSystem] | None = None,
) -> Commit | None:
    """
    The output's commit when a run of job ``job_id`` published it (one of ``tries``, when given), else None.

    :param filesystems: the filesystems of the object stores the job names, by store.
    """
    from airflow_provider_enterprise.output.commit import read_manifest, read_output_manifest
    from airflow_provider_enterprise.spec.locations import scheme_of

    store = scheme_of(spec.output_path)
    if store and store not in (filesystems or {}):
        return None
    manifest = read_output_manifest(spec.output_path, filesystems) if store else read_manifest(spec.output_path)
    name = str((manifest or {}).get("run_id", ""))
    committed_try = try_of(name, job_id)
    if manifest is None or committed_try is None or (tries is not None and committed_try not in tries):
        return None
    return Commit(name, manifest)


def committed_earlier(
    spec: JobSpec, tries: Tries, filesystems: Mapping[str, AbstractFileSystem] | None = None
) -> Commit | None:
    """The output's commit by an earlier try of ``tries``' series, which a retry reuses; None for a first try."""
    if not tries.is_retry:
        return None
    return committed_by_job(spec, tries.job_id, tries=range(tries.first_try, tries.try_number), filesystems=filesystems)


@dataclass(frozen=True)
class DeferredStart:
    """
    How a deferred try of a job starts, given the application of an earlier attempt it found, if any: re-attach to
    it while it runs (``external_id``), report the output it committed once it succeeded (``reused``), or submit
    (neither).
    """

    external_id: str | None = None
    reused: Commit | None = None

    @classmethod
    def after(cls, spec: JobSpec, job_id: int, earlier: ApplicationStatus | None) -> DeferredStart:
        """Decide from ``earlier``'s status: a succeeded application that committed no output is submitted again."""
        if earlier is None:
            return cls()
        if not earlier.succeeded:
            return cls(earlier.external_id)
        commit = committed_by_job(spec, job_id)
        if commit is None:
            log.info(
                "Application %s committed no output at %s: submitting again", earlier.external_id, spec.output_path
            )
            return cls()
        log.info("Output of %s is committed by run %s: reusing it", spec.job_name, commit.run_id)
        return cls(earlier.external_id, commit)


def earlier_application(tracker: SparkApplicationTracker, external_ids: Sequence[str]) -> ApplicationStatus | None:
    """
    Return the status of the first application of ``external_ids`` (an earlier attempt's, latest first) that still
    runs (re-attach to it) or that succeeded (nothing to submit); None when there is none (submit). An id the
    tracker cannot read (another cluster's, a client-mode run's name) is passed over.
    """
    for external_id in external_ids:
        try:
            status = tracker.status(external_id)
        except Exception as err:  # another cluster's id, or a client-mode run's name
            log.info("Cannot read the status of earlier application %s: %s", external_id, err)
            continue
        if status.active:
            log.info("Application %s of an earlier attempt is %s: re-attaching", external_id, status.state)
            return status
        if status.succeeded:
            log.info("Application %s of an earlier attempt finished: not submitting again", external_id)
            return status
    return None
