"""
Registry purge under load: rows/s a retention purge deletes while 32 writers record attempt transitions, and the
writers' latency during the purge against the same writers without one, on a real PostgreSQL.

    .venv/bin/python bench/registry_purge.py --json docs/bench/registry_purge.json
    .venv/bin/python bench/registry_purge.py --attempts 2000000 --database-url postgresql://user:pass@host/registry

Without ``--database-url`` it starts an embedded PostgreSQL in a scratch directory and stops it at the end; either
way it migrates the registry with the hook first.

**Fill.** ``--attempts`` finished attempt rows, two per job (a failed try, then a succeeded one), their jobs
created 100 to 200 days ago, one ``INSERT ... SELECT`` over ``generate_series`` per table; then ``VACUUM
ANALYZE``, as autovacuum would leave a table that size. Every filled job is past the default 90-day retention.

**Writers.** ``--writers`` threads, each with its own hook, take jobs through start, heartbeat and finish with the
hook calls of :mod:`registry_throughput` (every tenth job fails). A transition's latency is the time of its hook
calls; the first ``--warmup`` seconds are not counted. *Without a purge*: the writers for ``--seconds``.
*During the purge*: the same writers while :class:`~airflow_provider_enterprise.ops.retention.RegistryRetention`
purges the registry with the configured retention and duty cycle (what ``registry purge`` and the maintenance DAG
run; ``--duty-cycle`` replaces the configured one); rows/s is the attempts it deleted over its wall time, pauses
included.

Prints a table and writes the results as JSON (``--json``). ``--smoke`` is a seconds-long run.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry_throughput import (
    FAILED_EVERY,
    REPO,
    TARGET_P99_MS,
    Timings,
    Window,
    _hook,
    client_cpu,
    connected_threads,
    registry_database,
    run_job,
    server_settings,
)
from report import latency_summary, print_table, write_json

DAG_ID = "bench_registry_purge"
#: Attempts per filled job: a failed try and the succeeded retry.
TRIES = 2


def fill(url: str, attempts: int) -> dict[str, Any]:
    """Insert ``attempts`` finished attempts of old jobs, then vacuum and analyze; return the seconds each took."""
    import psycopg

    jobs = attempts // TRIES
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO enterprise_jobs (dag_id, run_id, task_id, map_index, job_name, job_type, created_at)"
            " SELECT %s, 'run_' || (i / 100), 'task_' || (i %% 100), -1, 'bench', 'local',"
            " now() - interval '200 days' + i * (interval '100 days' / %s) FROM generate_series(1, %s) AS i",
            (DAG_ID, jobs, jobs),
        )
        inserted_jobs = time.perf_counter()
        conn.execute(
            "INSERT INTO enterprise_job_attempts (job_id, try_number, status, engine, started_at, heartbeat_at,"
            " finished_at, rows_in, rows_out, output_path, error_class)"
            " SELECT j.job_id, t, CASE t WHEN %s THEN 'succeeded' ELSE 'failed' END, 'local', j.created_at,"
            " j.created_at, j.created_at + interval '1 minute', 1000, 998, '/data/out',"
            " CASE t WHEN %s THEN NULL ELSE 'ConnectionError' END"
            " FROM enterprise_jobs j CROSS JOIN generate_series(1, %s) AS t WHERE j.dag_id = %s",
            (TRIES, TRIES, TRIES, DAG_ID),
        )
        inserted_attempts = time.perf_counter()
        conn.execute("VACUUM ANALYZE enterprise_jobs, enterprise_job_attempts")
        vacuumed = time.perf_counter()
    return {
        "jobs": jobs,
        "attempts": jobs * TRIES,
        "jobs_seconds": round(inserted_jobs - started, 1),
        "attempts_seconds": round(inserted_attempts - inserted_jobs, 1),
        "vacuum_analyze_seconds": round(vacuumed - inserted_attempts, 1),
    }


def writers_while(url: str, writers: int, warmup: float, body: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """
    Run ``writers`` writers until ``body()`` returns, ``body`` starting once they are connected and warmed up;
    return the writers' transitions and latencies over ``body``'s run, and what ``body`` returned.
    """
    from airflow_provider_enterprise.hooks.metadata import JobKey

    run_id = f"writers-{uuid.uuid4().hex[:8]}"
    window = Window(warmup=warmup, seconds=math.inf)
    stop = threading.Event()

    def write(hook: Any, index: int) -> Timings:
        measured, job = Timings(), 0
        while not stop.is_set():
            began, timings = time.perf_counter(), Timings()
            run_job(hook, JobKey(DAG_ID, run_id, f"writer_{index}", job), timings, fail=job % FAILED_EVERY == 0)
            job += 1
            if began >= window.measured_from:
                measured.merge(timings)
        return measured

    results: list[Timings] = []
    thread = threading.Thread(target=lambda: results.extend(connected_threads(url, writers, write, window)))
    with client_cpu() as cores:
        thread.start()
        while not window.measured_from or time.perf_counter() < window.measured_from:
            time.sleep(0.05)
        started = time.perf_counter()
        outcome = body()
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
    timings = Timings()
    for measured in results:
        timings.merge(measured)
    latency = latency_summary(timings.transitions)
    return {
        "writers": writers,
        "seconds": round(seconds, 1),
        "transitions": len(timings.transitions),
        "transitions_per_s": round(len(timings.transitions) / seconds, 1),
        **latency,
        "target_met": latency["p99_ms"] <= TARGET_P99_MS,
        "client_cpu_cores": cores["cores"],
    }, outcome


def purge(url: str, batch_size: int, duty_cycle: float | None) -> dict[str, Any]:
    """
    Purge the registry with the configured retention (the defaults) and duty cycle unless ``duty_cycle`` is
    given; return what went and how fast.
    """
    from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy

    hook = _hook(url)
    try:
        retention = RegistryRetention(hook, batch_size=batch_size, duty_cycle=duty_cycle)
        report = retention.purge(RetentionPolicy.configured(hook.settings))
    finally:
        hook.close()
    attempts = report.rows["enterprise_job_attempts"]
    return {
        "rows": report.rows,
        "batch_size": batch_size,
        "duty_cycle": retention.duty_cycle,
        "seconds": round(report.seconds, 1),
        "paused_seconds": round(report.paused_seconds, 1),
        "attempts_per_s": round(attempts / report.seconds),
        "rows_per_s": round(sum(report.rows.values()) / report.seconds),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from airflow_provider_enterprise.ops.retention import BATCH_SIZE

    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="the registry to measure (default: an embedded server)")
    parser.add_argument("--attempts", type=int, default=10_000_000, help="attempt rows to fill and purge")
    parser.add_argument("--writers", type=int, default=32, help="concurrent writers")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the writers without a purge")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of each phase not counted")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per purge batch")
    parser.add_argument(
        "--duty-cycle", type=float, default=None, help="the purge's share of time deleting (default: configured)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run: 20,000 attempts, 2 writers, 1 s")
    args = parser.parse_args(argv)
    if args.smoke:
        args.attempts, args.writers, args.seconds, args.warmup = 20_000, 2, 1.0, 0.2
    os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))  # Airflow writes its config there on import

    load_average = os.getloadavg()  # other work on the machine takes cores from the server
    with registry_database(args.database_url) as url:
        filled = fill(url, args.attempts)
        print(f"filled {filled}", flush=True)
        baseline, _ = writers_while(url, args.writers, args.warmup, lambda: time.sleep(args.seconds))
        purging = functools.partial(purge, url, args.batch_size, args.duty_cycle)
        during, purged = writers_while(url, args.writers, args.warmup, purging)
        results: dict[str, Any] = {
            "database": {"embedded": args.database_url is None, **server_settings(url)},
            "load_average_at_start": load_average,
            "target_p99_ms": TARGET_P99_MS,
            "fill": filled,
            "purge": purged,
            "writers_without_purge": baseline,
            "writers_during_purge": during,
        }

    database = results["database"]
    print_table(
        f"Purge of {filled['attempts']:,} attempts ({filled['jobs']:,} jobs) in batches of {args.batch_size:,} "
        f"jobs, duty cycle {purged['duty_cycle']:g}: {purged['seconds']:g} s ({purged['paused_seconds']:g} s "
        f"paused), {purged['attempts_per_s']:,} attempts/s ({purged['rows_per_s']:,} rows/s with the jobs); "
        f"fill {filled['jobs_seconds'] + filled['attempts_seconds']:g} s. PostgreSQL "
        f"{database['server_version']} ({'embedded' if database['embedded'] else 'given'}), {os.cpu_count()} CPUs",
        ("writers", "phase", "seconds", "transitions", "transitions/s", "p50 ms", "p99 ms", "max ms", "p99 target?"),
        [
            (
                r["writers"],
                phase,
                r["seconds"],
                r["transitions"],
                round(r["transitions_per_s"]),
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                "met" if r["target_met"] else f"missed (> {TARGET_P99_MS:g} ms)",
            )
            for phase, r in (("without purge", baseline), ("during purge", during))
        ],
    )
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
