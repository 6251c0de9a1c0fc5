"""
Registry throughput: job state transitions/s and their latency with 1, 8 and 32 concurrent writers, and concurrent
job submissions with none lost and none duplicated, against a real PostgreSQL.

    .venv/bin/python bench/registry_throughput.py --json docs/bench/registry_throughput.json
    .venv/bin/python bench/registry_throughput.py --database-url postgresql://user:pass@host:5432/registry

Without ``--database-url`` it starts an embedded PostgreSQL (the development default) in a scratch directory
and stops it at the end; either way it migrates the registry with the hook first. Jobs are written under a
DAG id and run ids of their own, so a shared registry only gains rows.

**Transitions.** A writer runs jobs one after another with the calls a job operator makes (``operators/base.py``):
*start*, queued to running (the hook's ``register_attempt`` of try 1: the job and its attempt in one statement), one
*heartbeat* (``heartbeat``), *finish* (``complete_attempt`` as ``record_success``, or ``fail_attempt`` as
``record_failure`` for every tenth job). The dead-letter and circuit-breaker calls around them (``record_success``
also supersedes the job's dead letters) are left out: they move no attempt. A transition's latency is the time of
its hook calls, each timed alone with ``time.perf_counter`` (the JSON has every call's latency too); transitions/s
is the transitions of the measured window over its wall time. Each writer count runs for ``--seconds``: the first
tenth of it is warm-up, not counted.

Writers are threads, each with its own hook and so its own connection, as a worker process would have:
psycopg releases the GIL while it waits on the server. Measured at 32 writers on 2 cores: 32 threads in one
process made 3,700 transitions/s (p99 33 ms), 4 processes of 8 threads 3,100/s (p99 31 ms), 32 processes
3,500/s (p99 48 ms). The benchmark process uses 0.6-0.75 of a core (``client_cpu_cores`` in the JSON): the GIL
is not the limit, the cores the writers share with the server are, and processes only add to the load.

**Submissions.** ``--submissions`` jobs are submitted by 32 threads at once (``register_attempt`` of try 1); every
tenth job is submitted again at the same moment from a second thread (a retried worker). Afterwards SQL on the
registry counts, of this run's jobs: *lost*, submitted jobs with no job row or no attempt of try 1; *duplicated*,
job rows and try-1 attempts beyond one per job, plus jobs whose two submitters were both told they created the
attempt (both would run it).

Prints a table per part and writes the results as JSON (``--json``). ``--smoke`` is a seconds-long run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from report import latency_summary, print_table, write_json

if TYPE_CHECKING:
    from airflow_provider_enterprise.hooks.metadata import Attempt, EnterpriseMetadataHook, JobKey

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "bench_registry_throughput"
TARGET_TRANSITIONS_PER_S = 1_000
TARGET_P99_MS = 20.0
SUBMISSION_THREADS = 32
#: Every tenth job of a writer fails; every tenth submission is sent twice at once.
FAILED_EVERY = 10
RESUBMITTED_EVERY = 10
#: What a job operator registers with an attempt: a rendered spec, the DAG run's trigger, its inputs.
SPEC = {
    "job_name": "bench",
    "input_path": "/data/in/orders.csv",
    "output_path": "/data/out/orders",
    "processing_logic": {"steps": [{"filter": "amount > 0"}, {"derive": {"net": "amount * (1 - discount)"}}]},
}
INPUTS = [{"name": "orders", "path": "/data/in/orders.csv"}]


def _hook(url: str) -> EnterpriseMetadataHook:
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False))


@contextlib.contextmanager
def registry_database(url: str | None) -> Iterator[str]:
    """Yield the URL of a migrated registry: ``url``, or a scratch embedded server's (stopped afterwards)."""
    from airflow_provider_enterprise.dev import embedded_db

    with contextlib.ExitStack() as stack:
        if url is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ape-registry-bench-"))) / "pg"
            url = embedded_db.start(directory).uri()
            stack.callback(embedded_db.stop, directory)
        hook = _hook(url)
        hook.migrate()
        hook.close()
        yield url


def server_settings(url: str) -> dict[str, str]:
    """The server settings that bound commit latency, for the JSON."""
    import psycopg

    names = ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "commit_delay", "max_connections")
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}


@dataclass
class Timings:
    """Latencies in seconds: of each hook call by name, and of each transition (the sum of its calls)."""

    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    transitions: list[float] = field(default_factory=list)
    _current: float = 0.0

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Make one hook call of the current transition, timed."""
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = time.perf_counter() - started
        self.calls[function.__name__].append(seconds)
        self._current += seconds
        return result

    def end_transition(self) -> None:
        self.transitions.append(self._current)
        self._current = 0.0

    def merge(self, other: Timings) -> None:
        for name, seconds in other.calls.items():
            self.calls[name].extend(seconds)
        self.transitions.extend(other.transitions)


def submit(hook: EnterpriseMetadataHook, key: JobKey, timings: Timings) -> Attempt:
    """Register the job of ``key`` and start its first attempt, as the operators' ``register_attempt`` does."""
    from airflow_provider_enterprise.hooks.metadata import RunTrigger

    trigger = RunTrigger(user=None, run_type="scheduled")
    attempt = timings.call(
        hook.register_attempt,
        key,
        1,
        job_name=SPEC["job_name"],
        job_type="local",
        engine="local",
        spec=SPEC,
        trigger=trigger,
        inputs=INPUTS,
    )
    timings.end_transition()
    return attempt


def run_job(hook: EnterpriseMetadataHook, key: JobKey, timings: Timings, *, fail: bool) -> None:
    """Take one job through start, heartbeat and finish (failed when ``fail``, as ``record_failure``)."""
    attempt = submit(hook, key, timings)
    timings.call(hook.heartbeat, attempt.attempt_id)
    timings.end_transition()
    if fail:
        error = RuntimeError("the source went away")
        timings.call(hook.fail_attempt, attempt.attempt_id, error, retry_decision="Airflow retries (try 2 of 2)")
    else:
        timings.call(
            hook.complete_attempt,
            attempt.attempt_id,
            rows_in=1000,
            rows_out=998,
            output_path="/data/out",
            inputs=INPUTS,
        )
    timings.end_transition()


@dataclass
class Window:
    """The measured part of a phase, in ``time.perf_counter`` seconds, set when every thread is ready."""

    warmup: float
    seconds: float
    measured_from: float = 0.0
    until: float = 0.0

    def open(self) -> None:
        self.measured_from = time.perf_counter() + self.warmup
        self.until = self.measured_from + self.seconds


def connected_threads(
    url: str, threads: int, work: Callable[[EnterpriseMetadataHook, int], Any], window: Window
) -> list[Any]:
    """
    Run ``work(hook, index)`` on ``threads`` threads, each with its own hook, released together once every one
    has connected (connecting is not measured) and ``window`` is opened; return their results in index order.
    """
    ready = threading.Barrier(threads, action=window.open, timeout=60)

    def thread(index: int) -> Any:
        hook = _hook(url)
        try:
            hook.applied_migrations()  # a cheap read that opens this thread's connection
            ready.wait()
            return work(hook, index)
        except BaseException:
            ready.abort()  # the others must not wait for this one
            raise
        finally:
            hook.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(thread, range(threads)))


def writers_phase(url: str, writers: int, seconds: float) -> dict[str, Any]:
    """Run ``writers`` writers for ``seconds`` (the first tenth warm-up); return rates and latencies."""
    from airflow_provider_enterprise.hooks.metadata import JobKey

    run_id = f"writers-{writers}-{uuid.uuid4().hex[:8]}"
    window = Window(warmup=seconds / 10, seconds=seconds - seconds / 10)

    def write(hook: EnterpriseMetadataHook, index: int) -> tuple[Timings, float]:
        measured, finished, job = Timings(), 0.0, 0
        while (began := time.perf_counter()) < window.until:
            timings = Timings()
            run_job(hook, JobKey(DAG_ID, run_id, f"writer_{index}", job), timings, fail=job % FAILED_EVERY == 0)
            job += 1
            if began >= window.measured_from:
                measured.merge(timings)
                finished = time.perf_counter()
        return measured, finished

    with client_cpu() as cores:
        results = connected_threads(url, writers, write, window)
    timings = Timings()
    for measured, _ in results:
        timings.merge(measured)
    wall = max(finished for _, finished in results) - window.measured_from
    return {
        "writers": writers,
        "jobs": len(timings.calls["heartbeat"]),
        **rates(timings, wall, cores),
        "calls": {name: latency_summary(values) for name, values in sorted(timings.calls.items())},
    }


def rates(timings: Timings, wall: float, cores: dict[str, float]) -> dict[str, Any]:
    """Transitions, their rate over ``wall`` seconds and latency, whether they meet the targets."""
    rate = len(timings.transitions) / wall
    latency = latency_summary(timings.transitions)
    misses = []
    if rate < TARGET_TRANSITIONS_PER_S:
        misses.append(f"< {TARGET_TRANSITIONS_PER_S:,}/s")
    if latency["p99_ms"] > TARGET_P99_MS:
        misses.append(f"p99 > {TARGET_P99_MS:g} ms")
    return {
        "transitions": len(timings.transitions),
        "seconds": round(wall, 3),
        "transitions_per_s": round(rate, 1),
        **latency,
        "target_met": not misses,
        "target_missed_by": misses,
        "client_cpu_cores": cores["cores"],
    }


@contextlib.contextmanager
def client_cpu() -> Iterator[dict[str, float]]:
    """Yield a dict that gets, at the end of the block, the CPU cores this process used in it (``cores``)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = usage.ru_utime + usage.ru_stime, time.perf_counter()
    measured: dict[str, float] = {}
    yield measured
    usage = resource.getrusage(resource.RUSAGE_SELF)
    measured["cores"] = round((usage.ru_utime + usage.ru_stime - cpu) / (time.perf_counter() - wall), 2)


def submissions_phase(url: str, submissions: int) -> dict[str, Any]:
    """
    Submit ``submissions`` jobs from :data:`SUBMISSION_THREADS` threads, every tenth from two threads at once;
    count in the registry the jobs lost and duplicated.
    """
    from airflow_provider_enterprise.hooks.metadata import JobKey

    run_id = f"submissions-{uuid.uuid4().hex[:8]}"
    # Rounds of at most one submission per thread; both submissions of a job fall in one round, so two threads
    # waiting for each other are always at the same round and no wait can close a cycle.
    rounds: list[list[tuple[JobKey, threading.Barrier | None]]] = [[]]
    for index in range(submissions):
        key = JobKey(DAG_ID, run_id, "submit", index)
        senders = 2 if index % RESUBMITTED_EVERY == 0 else 1
        if len(rounds[-1]) + senders > SUBMISSION_THREADS:
            rounds.append([])
        together = threading.Barrier(2, timeout=60) if senders == 2 else None
        rounds[-1].extend([(key, together)] * senders)

    def send(hook: EnterpriseMetadataHook, index: int) -> tuple[Timings, list[tuple[int, bool]]]:
        timings, created = Timings(), []
        for round_ in rounds:
            if index < len(round_):
                key, together = round_[index]
                if together is not None:
                    together.wait()
                created.append((key.map_index, submit(hook, key, timings).created))
        return timings, created

    window = Window(warmup=0.0, seconds=0.0)  # only its opening counts: when the submissions start
    with client_cpu() as cores:
        results = connected_threads(url, SUBMISSION_THREADS, send, window)
    wall = time.perf_counter() - window.measured_from
    timings = Timings()
    creators: dict[int, int] = defaultdict(int)
    for measured, created in results:
        timings.merge(measured)
        for map_index, was_created in created:
            creators[map_index] += was_created
    counted = count_jobs(url, run_id)
    return {
        "submissions": submissions,
        "sent": len(timings.transitions),
        "threads": SUBMISSION_THREADS,
        "jobs": counted["jobs"],
        "lost": submissions - counted["jobs_with_attempt"],
        "duplicated": counted["extra_rows"] + sum(1 for n in creators.values() if n > 1),
        **rates(timings, wall, cores),
    }


def count_jobs(url: str, run_id: str) -> dict[str, int]:
    """
    Count a run's jobs in the registry: distinct job keys, those holding a try-1 attempt, and the job rows and
    try-1 attempts beyond one per key.
    """
    import psycopg

    with psycopg.connect(url) as conn:
        jobs, with_attempt, extra_jobs, extra_attempts = conn.execute(
            "SELECT count(DISTINCT (task_id, map_index)),"
            " count(DISTINCT (task_id, map_index)) FILTER (WHERE attempts > 0),"
            " count(*) - count(DISTINCT (task_id, map_index)),"
            " coalesce(sum(greatest(attempts - 1, 0)), 0)"
            " FROM (SELECT j.task_id, j.map_index, count(a.attempt_id) AS attempts FROM enterprise_jobs j"
            " LEFT JOIN enterprise_job_attempts a ON a.job_id = j.job_id AND a.try_number = 1"
            " WHERE j.dag_id = %s AND j.run_id = %s GROUP BY j.job_id) AS per_job",
            (DAG_ID, run_id),
        ).fetchone()
    return {"jobs": jobs, "jobs_with_attempt": with_attempt, "extra_rows": extra_jobs + int(extra_attempts)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="the registry to measure (default: an embedded server)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8, 32], help="concurrent writer counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each writer count (a tenth warm-up)")
    parser.add_argument("--submissions", type=int, default=1000, help="jobs submitted at once")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run: 1 and 2 writers, 1 s, 50 jobs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.writers, args.seconds, args.submissions = [1, 2], 1.0, 50
    os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))  # Airflow writes its config there on import

    with registry_database(args.database_url) as url:
        results: dict[str, Any] = {
            "database": {"embedded": args.database_url is None, **server_settings(url)},
            "load_average_at_start": os.getloadavg(),  # other work on the machine takes cores from the server
            "targets": {"transitions_per_s": TARGET_TRANSITIONS_PER_S, "p99_ms": TARGET_P99_MS},
            "seconds_per_writer_count": args.seconds,
            "writers": [writers_phase(url, writers, args.seconds) for writers in args.writers],
            "submissions": submissions_phase(url, args.submissions),
        }

    database = results["database"]
    print_table(
        f"Registry transitions (start, heartbeat, finish), {args.seconds:g} s per writer count, PostgreSQL "
        f"{database['server_version']} ({'embedded' if database['embedded'] else 'given'}, "
        f"synchronous_commit={database['synchronous_commit']}), {os.cpu_count()} CPUs",
        ("writers", "transitions", "transitions/s", "p50 ms", "p99 ms", "max ms", "target met?"),
        [
            (
                r["writers"],
                r["transitions"],
                round(r["transitions_per_s"]),
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                "yes" if r["target_met"] else "no: " + ", ".join(r["target_missed_by"]),
            )
            for r in results["writers"]
        ],
    )
    s = results["submissions"]
    print_table(
        f"Concurrent submissions over {s['threads']} threads (every {RESUBMITTED_EVERY}th sent twice at once)",
        ("submissions", "sent", "jobs", "lost", "duplicated", "submissions/s", "p50 ms", "p99 ms", "max ms"),
        [
            (
                s["submissions"],
                s["sent"],
                s["jobs"],
                s["lost"],
                s["duplicated"],
                round(s["transitions_per_s"]),
                s["p50_ms"],
                s["p99_ms"],
                s["max_ms"],
            )
        ],
    )
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
