"""
Concurrent deferred jobs: many registry-job waits held by one real triggerer process.

    .venv/bin/python bench/deferred_waits.py --waits 1000 --poll-interval 5 --json docs/bench/deferred_waits.json

Starts its own Airflow stack (``tests/support/stack.py``: api-server, scheduler, dag-processor, triggerer on the
embedded PostgreSQL) with the DAG ``bench/dags/bench_deferred_waits.py``: ``--waits`` ``EnterpriseJobSensor``
tasks deferred straight from the scheduler (``start_from_trigger=True``: no worker starts them) and ended in
the triggerer (``end_from_trigger=True``: no worker resumes them), each polling the job registry for its own
job. Once every wait runs in the triggerer, the benchmark completes the jobs in the registry at uniformly
random times over ``--window`` seconds, and measures:

- **triggerer memory**: PSS of the triggerer's supervisor and its trigger-runner child together, sampled every
  half second (idle before the run, peak while the waits are held);
- **event loop lag**: ten timer probes (``DateTimeSensorAsync`` ending in the triggerer too) fire at known
  times during the window; lag = the probe task's end in Airflow's database - its target time;
- **resume latency**: a wait's end in Airflow's database - the moment its job was completed in the registry
  (at most one poll interval of it is the poll itself).

With ``--kinds timer`` (run too by default, in a fresh stack) the waits are Airflow's own ``DateTimeTrigger``
timers due at the same random times: the baseline of what the triggerer itself adds to every event, with no
registry and no polling. The JSON holds both and the ratio of their p95 resume latencies.

Targets (issue #8): memory < 500 MB, p95 resume latency <= 2x the poll interval. ``--smoke`` runs 20 waits.
The CI smoke (``tests/stack/test_deferred_waits_smoke.py``) calls :func:`measure` on the test session's stack.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DAG_FILE = BENCH / "dags" / "bench_deferred_waits.py"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "dags"))
sys.path.insert(0, str(REPO / "tests"))  # the test suite's stack and its helpers
from bench_deferred_waits import JOB_DAG, JOB_RUN, PROBES, WAITS_PER_DAG, dag_id  # noqa: E402

KINDS = ("registry", "timer")
from own_stack import own_stack  # noqa: E402
from report import latency_summary, print_table, write_json  # noqa: E402

from support.processes import wait_for  # noqa: E402


def _airflow_db(stack) -> str:
    """Airflow's metadata database as a libpq URI (the stack's SQLAlchemy URL without its driver)."""
    return stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)


def _pss_mb(pid: int) -> float:
    """PSS of a process and its children, in MB (shared pages counted once across them)."""
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += process.memory_full_info().pss
    return total / 2**20


class MemorySampler(threading.Thread):
    """Samples a process tree's PSS every ``interval`` seconds until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_mb, self.samples = pid, interval, 0.0, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak_mb = max(self.peak_mb, _pss_mb(self.pid))
            except psutil.NoSuchProcess:
                self.peak_mb = float("nan")  # the triggerer died: the run fails below
                return
            self.samples += 1
            self._done.wait(self.interval)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_mb


def _clear_jobs(registry) -> None:
    with registry.transaction() as cur:
        cur.execute(
            "DELETE FROM enterprise_job_attempts WHERE job_id IN"
            " (SELECT job_id FROM enterprise_jobs WHERE dag_id = %s)",
            (JOB_DAG,),
        )
        cur.execute("DELETE FROM enterprise_jobs WHERE dag_id = %s", (JOB_DAG,))


def _complete_job(registry, i: int) -> float:
    """Run job ``i`` to success in the registry (register, start, complete); return when it completed."""
    from airflow_provider_enterprise.hooks.metadata import JobKey

    key = JobKey(JOB_DAG, JOB_RUN, f"job_{i:04d}")
    job_id = registry.register_job(key, job_name=f"bench_{i}", job_type="benchmark")
    attempt = registry.start_attempt(job_id, 1, engine="local")
    registry.complete_attempt(attempt.attempt_id, rows_in=0, rows_out=0, output_path="")
    return time.time()


def _task_states(conn, runs: dict[str, str]) -> dict[str, tuple[str | None, float | None]]:
    rows = conn.execute(
        "SELECT task_id, state, extract(epoch FROM end_date) FROM task_instance"
        " WHERE (dag_id, run_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        (list(runs), list(runs.values())),
    ).fetchall()
    return {task_id: (state, float(end) if end is not None else None) for task_id, state, end in rows}


def measure(
    stack,
    registry,
    *,
    waits: int,
    poll_interval: float,
    window: float,
    lead: float | None = None,
    kind: str = "registry",
    seed: int = 7,
) -> dict[str, Any]:
    """
    Hold ``waits`` deferred waits in ``stack``'s triggerer and complete their jobs over ``window`` seconds.

    The DAGs must have been parsed with the same ``BENCH_DEFERRED_WAITS``/``BENCH_DEFERRED_POLL``. ``lead``: seconds
    from the trigger to the first completion, for the scheduler to defer every wait (default: 20 s or more).
    """
    import psycopg

    _clear_jobs(registry)
    dag_ids = [dag_id(n) for n in range(max(1, -(-waits // WAITS_PER_DAG)))]
    for dag in dag_ids:
        stack.wait_for_dag(dag, timeout=300)
    triggerer = stack.processes["triggerer"].pid
    idle_mb = _pss_mb(triggerer)
    sampler = MemorySampler(triggerer)
    sampler.start()
    lead = lead if lead is not None else max(20.0, waits / 25)
    started = time.time()
    begin = started + lead
    probe_at = [begin + window * (k + 0.5) / PROBES for k in range(PROBES)]
    rng = random.Random(seed)
    due = {f"wait_{i:04d}": begin + rng.uniform(0, window) for i in range(waits)}  # when each wait may end

    def iso(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()

    conf: dict[str, Any] = {"probe_at": [iso(t) for t in probe_at]}
    if kind == "timer":
        conf["wait_at"] = {task: iso(t) for task, t in due.items()}
    runs = {dag: stack.trigger(dag, conf=conf) for dag in dag_ids}
    waits_ids = {f"wait_{i:04d}" for i in range(waits)}
    with psycopg.connect(_airflow_db(stack), autocommit=True) as conn:

        def all_held() -> bool:
            held = conn.execute(
                "SELECT count(*) FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id"
                " WHERE (ti.dag_id, ti.run_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
                " AND ti.state = 'deferred' AND t.triggerer_id IS NOT NULL",
                (list(runs), list(runs.values())),
            ).fetchone()[0]
            return held >= waits + PROBES

        wait_for(all_held, "every wait held by the triggerer", timeout=lead * 4)
        held_after = time.time() - started
        if held_after > lead:
            print(
                f"warning: the waits took {held_after:.0f} s to reach the triggerer, past the probes' lead {lead:.0f} s"
            )
        completed = dict(due)  # timers end on their own at their due time
        if kind == "registry":
            for t, task in sorted((t, task) for task, t in due.items()):
                time.sleep(max(0.0, t - time.time()))
                completed[task] = _complete_job(registry, int(task.removeprefix("wait_")))

        def all_done() -> dict | None:
            states = _task_states(conn, runs)
            finished = [s for s, _ in states.values() if s in ("success", "failed", "skipped")]
            return states if len(finished) >= waits + PROBES else None

        states = wait_for(all_done, "the end of every wait", timeout=window + 30 * poll_interval + 120)
    peak_mb = sampler.stop()

    failed = sorted(t for t, (s, _) in states.items() if s != "success")
    latencies = [states[t][1] - completed[t] for t in waits_ids if states[t][1] is not None]
    lags = [states[f"lag_probe_{k}"][1] - probe_at[k] for k in range(PROBES)]
    return {
        "kind": kind,
        "waits": waits,
        "dags": len(dag_ids),
        "poll_interval_s": poll_interval,
        "window_s": window,
        "held_after_s": round(held_after, 1),
        "failed_tasks": failed,
        "triggerer_pss_idle_mb": round(idle_mb, 1),
        "triggerer_pss_peak_mb": round(peak_mb, 1),
        "memory_samples": sampler.samples,
        "resume_latency": latency_summary(latencies),
        "loop_lag": latency_summary(lags),
        "targets": {
            "memory_under_500_mb": peak_mb < 500,
            "p95_resume_within_2x_poll": latency_summary(latencies)["p95_ms"] <= 2 * poll_interval * 1000,
        },
    }


def _own_stack(workdir: Path, waits: int, poll_interval: float, kind: str):
    """Start the embedded PostgreSQL and an Airflow stack serving only the benchmark DAG."""
    extra = {
        "BENCH_DEFERRED_WAITS": str(waits),
        "BENCH_DEFERRED_POLL": str(poll_interval),
        "BENCH_DEFERRED_KIND": kind,
        "AIRFLOW__TRIGGERER__CAPACITY": str(waits + PROBES + 100),
        # parse the benchmark's DAGs once: re-parsing them every 5 s would load the two cores under measure
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
    }
    return own_stack(workdir, [DAG_FILE], extra)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waits", type=int, default=1000, help="deferred waits held at once")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between a wait's polls")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the jobs complete")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="registry waits, timers")
    parser.add_argument("--smoke", action="store_true", help="20 waits, 10 s window")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.waits, args.window, args.poll_interval = 20, 10.0, 2.0

    from airflow_provider_enterprise.dev import embedded_db

    results: dict[str, Any] = {}
    for kind in args.kinds:  # each in a stack of its own: the kind is fixed when the DAGs are parsed
        with tempfile.TemporaryDirectory(prefix="ape-deferred-") as scratch:
            server, stack, registry = _own_stack(Path(scratch), args.waits, args.poll_interval, kind)
            try:
                stack.start(timeout=300)
                results[kind] = measure(
                    stack, registry, waits=args.waits, poll_interval=args.poll_interval, window=args.window, kind=kind
                )
            except Exception:
                print(stack.logs_tail(120), file=sys.stderr)
                raise
            finally:
                stack.stop()
                embedded_db.stop(server.data_dir)
        report(results[kind])
    if set(KINDS) <= set(results):
        ours, airflow = results["registry"]["resume_latency"], results["timer"]["resume_latency"]
        results["registry_over_timer_p95"] = round(ours["p95_ms"] / airflow["p95_ms"], 2)
        print(f"registry waits / Airflow's timers, p95 resume latency: {results['registry_over_timer_p95']}")
    write_json(args.json, {"benchmark": "deferred_waits", **results})
    return results


def report(results: dict[str, Any]) -> None:
    resume, lag = results["resume_latency"], results["loop_lag"]
    print_table(
        f"{results['waits']} {results['kind']} waits ({results['dags']} DAG runs) in one triggerer,"
        f" poll every {results['poll_interval_s']:g} s, jobs completed over {results['window_s']:g} s"
        f" (all held {results['held_after_s']} s after the trigger)",
        ("measure", "p50 ms", "p95 ms", "p99 ms", "max ms"),
        [
            ("resume latency", resume["p50_ms"], resume["p95_ms"], resume["p99_ms"], resume["max_ms"]),
            ("timer probe delay", lag["p50_ms"], lag["p95_ms"], lag["p99_ms"], lag["max_ms"]),
        ],
    )
    idle, peak = results["triggerer_pss_idle_mb"], results["triggerer_pss_peak_mb"]
    print(f"triggerer PSS: idle {idle:.0f} MB, peak {peak:.0f} MB; failed tasks: {len(results['failed_tasks'])}")
    print(f"targets: {results['targets']}")


if __name__ == "__main__":
    main()
