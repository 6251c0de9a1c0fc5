"""
A burst of job messages on a Redis stream: queue-to-start latency, jobs started, duplicates and losses.

    .venv/bin/python bench/event_burst.py --messages 1000 --resends 100 --json docs/bench/event_burst.json

Starts its own Airflow stack (``tests/support/stack.py``: api-server, scheduler, dag-processor, triggerer on the
embedded PostgreSQL, LocalExecutor) with a Redis server, the generic job DAG and the queue-fed job DAG
(``dags/enterprise_job.py``, ``dags/enterprise_job_events.py``); the local engine's job tasks take the pool
``enterprise_local`` of ``--pool-slots`` slots. It publishes ``--messages`` job messages, each with an
idempotency key of its own, and then ``--resends`` of them again (a producer's retries), all in one pipeline,
waits until every key's job has ended, and measures from Airflow's metadata database and the registry:

- **queue-to-start latency**: the job task's start in Airflow's database - the message's ``XADD`` (the
  milliseconds of its stream id); **queue-to-admission**: its admission in the registry - the ``XADD``;
- **runs started** (runs of the generic job DAG for the burst's keys), **duplicates** (runs and registry jobs
  beyond one per key), **lost** (keys without a run);
- **most jobs running at once**, from the job tasks' starts and ends, against the pool's slots;
- **drain time**: the first ``XADD`` to the last job task's end.

The jobs are small (the sample CSV, a filter and a group-by on the local engine): the figure is the orchestration
of a burst, not the engine. ``--smoke`` sends 5 messages and 2 resends.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))  # the test suite's stack and its helpers
from own_stack import own_stack  # noqa: E402
from report import latency_summary, print_table, write_json  # noqa: E402

STREAM = "enterprise-jobs"  # the stream dags/enterprise_job_events.py watches
JOB_DAG = "enterprise_job"
EVENTS_DAG = "enterprise_job_events"
POOL = "enterprise_local"
SAMPLE = REPO / "dags" / "data" / "transactions.csv"
LOGIC = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active'"},
        {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)"}},
    ]
}


def _airflow_db(stack) -> str:
    """Airflow's metadata database as a libpq URI (the stack's SQLAlchemy URL without its driver)."""
    return stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)


def publish(port: int, messages: int, resends: int, output: Path, tag: str) -> dict[str, int]:
    """Send the burst in one pipeline; return each key's first XADD time (epoch ms, from its stream id)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    bodies = []
    for i in range(messages):
        key = f"{tag}-{i:05d}"
        job = {"idempotency_key": key, "job_name": f"burst_{i}", "input_path": str(SAMPLE)}
        job.update(output_path=str(output / key), execution_engine="local", processing_logic=LOGIC)
        bodies.append((key, json.dumps(job)))
    bodies += bodies[: min(resends, messages)]
    pipe = client.pipeline(transaction=False)
    for _, body in bodies:
        pipe.xadd(STREAM, {"job": body})
    ids = [i.decode() for i in pipe.execute()]
    client.close()
    sent: dict[str, int] = {}
    for (key, _), message_id in zip(bodies, ids, strict=True):
        sent.setdefault(key, int(message_id.split("-")[0]))
    return sent


def _job_tasks(stack, run_ids: list[str]) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """Each job task's run id, state, start, end and time spent queued in the executor (start - queued)."""
    import psycopg

    with psycopg.connect(_airflow_db(stack)) as conn:
        return conn.execute(
            "SELECT run_id, state, extract(epoch FROM start_date)::float8, extract(epoch FROM end_date)::float8,"
            " extract(epoch FROM start_date - queued_dttm)::float8 FROM task_instance"
            " WHERE dag_id = %s AND task_id = 'run_job' AND run_id = ANY(%s)",
            (JOB_DAG, run_ids),
        ).fetchall()


def _events_runs(stack) -> list[tuple[str, float, float | None]]:
    """The queue-fed DAG's runs: run id, start and end (its cadence)."""
    import psycopg

    with psycopg.connect(_airflow_db(stack)) as conn:
        return conn.execute(
            "SELECT run_id, extract(epoch FROM start_date)::float8, extract(epoch FROM end_date)::float8 FROM dag_run"
            " WHERE dag_id = %s AND start_date IS NOT NULL ORDER BY start_date",
            (EVENTS_DAG,),
        ).fetchall()


def _job_runs(stack, prefix: str) -> list[str]:
    import psycopg

    with psycopg.connect(_airflow_db(stack)) as conn:
        rows = conn.execute("SELECT run_id FROM dag_run WHERE dag_id = %s AND run_id LIKE %s", (JOB_DAG, prefix + "%"))
        return [r[0] for r in rows]


def _pending(port: int) -> int:
    """Entries the watcher read and has not acknowledged (XPENDING)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        return int(client.xpending(STREAM, "airflow")["pending"])
    finally:
        client.close()


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals overlapping at one moment (an end before a start at the same instant)."""
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    return peak


def measure(
    stack, registry, *, messages: int, resends: int, pool_slots: int, output: Path, timeout: float, tag: str = "burst"
) -> dict[str, Any]:
    """Publish the burst on ``stack`` (its pool made, its queue-fed DAG unpaused); measure it (see the module doc)."""
    sent = publish(stack.redis.port, messages, resends, output, tag)
    run_ids = [f"job__{key}" for key in sent]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = _job_tasks(stack, run_ids)
        if len(tasks) == len(run_ids) and all(task[1] in ("success", "failed") for task in tasks):
            break
        time.sleep(5)
    return collect(stack, registry, sent, tag=tag, resends=resends, pool_slots=pool_slots)


def collect(stack, registry, sent: dict[str, int], *, tag: str, resends: int, pool_slots: int) -> dict[str, Any]:
    """The figures of a burst whose keys were first sent at ``sent`` (epoch ms), as they stand now."""
    run_ids = [f"job__{key}" for key in sent]
    first_sent = min(sent.values()) / 1000
    tasks = _job_tasks(stack, run_ids)
    runs = _job_runs(stack, f"job__{tag}-")
    unacknowledged = _pending(stack.redis.port)
    with registry.transaction() as cur:
        cur.execute(
            "SELECT run_id, count(*) FROM enterprise_jobs WHERE dag_id = %s AND run_id = ANY(%s) GROUP BY run_id",
            (JOB_DAG, run_ids),
        )
        registry_jobs = dict(cur.fetchall())
        cur.execute(
            "SELECT status, count(*) FROM enterprise_event_messages WHERE idempotency_key LIKE %s GROUP BY status",
            (tag + "-%",),
        )
        recorded = dict(cur.fetchall())
        cur.execute(
            "SELECT idempotency_key, job_run_id, extract(epoch FROM received_at)::float8 FROM enterprise_event_messages"
            " WHERE idempotency_key LIKE %s AND status = 'admitted'",
            (tag + "-%",),
        )
        admissions = cur.fetchall()
    admitted = {run_id for _, run_id, _ in admissions}
    admission_latencies = [at - sent[key] / 1000 for key, _, at in admissions if key in sent]
    started = {run_id: (start, end) for run_id, _, start, end, _ in tasks if start is not None}
    queued = [wait for *_, wait in tasks if wait is not None]
    events_runs = [(start, end) for _, start, end in _events_runs(stack) if end is not None and start >= first_sent]
    latencies = [started[f"job__{key}"][0] - ms / 1000 for key, ms in sent.items() if f"job__{key}" in started]
    ended = [end for _, end in started.values() if end is not None]
    states = [task[1] for task in tasks]
    done = len(tasks) == len(run_ids) and all(s in ("success", "failed") for s in states)
    return {
        "messages": len(sent),
        "resends": resends,
        "pool_slots": pool_slots,
        "messages_recorded": recorded,
        "keys_admitted": len(admitted),
        "runs_started": len(runs),
        "jobs_started": len(started),
        "succeeded": states.count("success"),
        "failed": states.count("failed"),
        "duplicates": (len(runs) - len(set(runs))) + sum(n - 1 for n in registry_jobs.values()),
        # a key neither admitted nor run: its message was never read into the registry
        "lost": len(set(run_ids) - set(runs) - admitted),
        "admitted_not_yet_submitted": len(admitted - set(runs)),
        "unacknowledged_entries": unacknowledged,
        "queue_to_admission": latency_summary(admission_latencies) if admission_latencies else {},
        "queue_to_start": latency_summary(latencies) if latencies else {},
        "job_task_queued_to_start": latency_summary(queued) if queued else {},
        "job_task_s_p50": round(statistics.median([e - s for s, e in started.values() if e is not None]), 2)
        if ended
        else None,
        "events_dag_runs": len(events_runs),
        "events_dag_run_s_p50": round(statistics.median([e - s for s, e in events_runs]), 2) if events_runs else None,
        "most_jobs_at_once": most_at_once([(s, e) for s, e in started.values() if e is not None]),
        "seconds_since_first_message": round(time.time() - first_sent, 1),
        "drain_s": round(max(ended) - first_sent, 1) if done and ended else None,
        "timed_out": not done,
    }


def report(results: dict[str, Any]) -> None:
    latency = results["queue_to_start"]
    print_table(
        f"Event burst: {results['messages']} messages + {results['resends']} resent, pool of {results['pool_slots']}",
        ["runs", "jobs", "dup", "lost", "p50 s", "p95 s", "max s", "at once", "drain s"],
        [
            [
                results["runs_started"],
                results["jobs_started"],
                results["duplicates"],
                results["lost"],
                latency.get("p50_ms", 0) / 1000,
                latency.get("p95_ms", 0) / 1000,
                latency.get("max_ms", 0) / 1000,
                results["most_jobs_at_once"],
                results["drain_s"] or 0.0,
            ]
        ],
    )


def _own_stack(workdir: Path):
    """Start the embedded PostgreSQL and Redis; configure a stack serving the two job DAGs."""
    from support.redis_server import RedisServer

    redis = RedisServer(workdir / "redis").start()
    extra = {
        "AIRFLOW__ENTERPRISE__LOCAL_POOL": POOL,
        # not once an hour: the watcher starts when the dag-processor parses the DAG after it is unpaused
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW_CONN_REDIS_DEFAULT": json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": redis.port}),
    }
    dag_files = [REPO / "dags" / "enterprise_job.py", REPO / "dags" / "enterprise_job_events.py"]
    server, stack, registry = own_stack(workdir, dag_files, extra)
    stack.redis = redis
    return server, stack, registry


def start_watching(stack, pool_slots: int) -> None:
    """Make the pool, wait for both DAGs and unpause the queue-fed one (its watcher starts)."""
    body = {"name": POOL, "slots": pool_slots, "include_deferred": False}
    response = stack.client.post("/api/v2/pools", json=body)
    if response.status_code == 409:
        stack.client.patch(f"/api/v2/pools/{POOL}", json=body).raise_for_status()
    stack.wait_for_dag(JOB_DAG)
    stack.wait_for_dag(EVENTS_DAG)


def wait_watching(stack, timeout: float = 180) -> None:
    """Wait until the watcher reads the stream (its consumer is in the group): the DAG is parsed again unpaused."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=stack.redis.port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.xinfo_consumers(STREAM, "airflow"):
                return
        except redis.ResponseError:  # no stream or no group yet
            pass
        time.sleep(2)
    raise RuntimeError(f"the stream's watcher did not start in {timeout} s\n{stack.logs_tail()}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="job messages, each with a key of its own")
    parser.add_argument("--resends", type=int, default=100, help="of them sent a second time")
    parser.add_argument("--pool-slots", type=int, default=2, help="slots of the local engine's pool")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds to wait for the jobs")
    parser.add_argument("--smoke", action="store_true", help="5 messages, 2 resent")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.messages, args.resends, args.timeout = 5, 2, 300

    from airflow_provider_enterprise.dev import embedded_db

    with tempfile.TemporaryDirectory(prefix="ape-burst-") as scratch:
        server, stack, registry = _own_stack(Path(scratch))
        try:
            stack.start(timeout=300)
            start_watching(stack, args.pool_slots)
            wait_watching(stack)
            results = measure(
                stack,
                registry,
                messages=args.messages,
                resends=args.resends,
                pool_slots=args.pool_slots,
                output=Path(scratch) / "out",
                timeout=args.timeout,
            )
        except Exception:
            print(stack.logs_tail(120), file=sys.stderr)
            raise
        finally:
            stack.stop()
            stack.redis.stop()
            embedded_db.stop(server.data_dir)
    report(results)
    write_json(args.json, {"benchmark": "event_burst", **results})
    return results


if __name__ == "__main__":
    main()
