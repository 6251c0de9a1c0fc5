"""
Chaos at scale on a stack of its own: poison inputs, SIGKILLed task processes, a registry restart, a Spark worker kill.

    flock /tmp/heavy.lock .venv/bin/python bench/chaos.py --jobs 1000 --json docs/bench/chaos.json

Starts its own Airflow stack (``tests/support/stack.py``: api-server, scheduler, dag-processor, triggerer,
LocalExecutor) with Airflow's database on one embedded PostgreSQL and the job registry on another, and a Spark
standalone master and worker (``tests/support/spark_cluster.py``). It triggers ``--jobs`` runs of the example
processing DAG (``dags/enterprise_daily_processing.py``), each with an output directory of its own:

- ``--poison`` of them (10%) read a poison input: a missing file or a corrupt Parquet file, in turns;
- ``--spark-jobs`` of them run on the Spark engine (spark-submit in client mode to the standalone master),
  spread evenly over the others; ``--slow`` of the rest read a larger Parquet input (their tries run longer);
- each try the bench sees running is SIGKILLed with probability ``--kill-rate`` at a random moment of its first
  ``--kill-window`` seconds (at most one kill per job): the task process, or in turn its supervisor;
- once ``--restart-at`` of the jobs ended, the registry's PostgreSQL stops (fast shutdown) and starts again
  ``--downtime`` seconds later; once ``--worker-kill-at`` ended and a Spark application runs, the Spark worker
  and its executors are SIGKILLed and a new worker started ``--downtime`` seconds later.

When every run ended, it runs the reconciliation sweep (``enterprise-orchestrator dlq reconcile``) and checks
from Airflow, the registry, the dead-letter queue and the output directories that every job ended succeeded
(run success, registry succeeded, one published output, no running attempt) or dead-lettered (run failed, an
open dead letter, nothing published); anything else is **lost**. Duplicate dead letters are a job's open (or
replayed) letters beyond one (superseded ones, an earlier try's, are counted apart); duplicate outputs are published
outputs beyond one per job, and publications beyond one: succeeded attempts with distinct run ids (a retry that
reuses the commit of a try killed after it committed succeeds with that try's run id). It then replays every open
dead letter twice (``dlq replay``) and checks that each has exactly one replay run. ``--smoke``:
20 jobs, 2 on Spark.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))  # the test suite's stack and its helpers
from own_stack import own_stack  # noqa: E402
from report import print_table, write_json  # noqa: E402

from support.stack import TERMINAL_RUN_STATES  # noqa: E402

DAG_ID = "enterprise_daily_processing"
TASK_ID = "process_daily_data"
SAMPLE = REPO / "dags" / "data" / "transactions.csv"


@dataclass
class Job:
    """One triggered run: what it reads and where it writes."""

    index: int
    kind: str  # quick, slow, spark, poison
    conf: dict[str, str]
    run_id: str = ""


@dataclass
class Chaos:
    """What the bench did to the stack while the jobs ran."""

    kill_rate: float
    kill_window: float
    rng: random.Random
    kills: Counter = field(default_factory=Counter)
    killed_jobs: dict[str, str] = field(default_factory=dict)  # run id -> what was killed
    seen: set[tuple[int, int]] = field(default_factory=set)  # (job_id, try_number) considered for a kill
    pending: list[tuple[float, dict, str]] = field(default_factory=list)  # (when, attempt, victim)
    registry_restart_s: float | None = None
    worker_kill: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)

    def event(self, what: str) -> None:
        print(f"  {what}")
        self.events.append(what)


def make_inputs(directory: Path, slow_rows: int) -> dict[str, Path]:
    """The inputs: the sample CSV, a larger Parquet file, and two poisons (a missing file, a corrupt Parquet)."""
    import duckdb

    directory.mkdir(parents=True)
    slow = directory / "slow.parquet"
    duckdb.sql(
        "COPY (SELECT range AS transaction_id, 'active' AS status, 'books' AS category, 'DE' AS country,"
        f" range % 5000 AS customer_id, random() * 100 AS amount FROM range({slow_rows}))"
        f" TO '{slow}' (FORMAT parquet)"
    )
    corrupt = directory / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + os.urandom(4096))
    return {"quick": SAMPLE, "slow": slow, "missing": directory / "missing.csv", "corrupt": corrupt}


def plan_jobs(total: int, poison: float, spark: int, slow: float, inputs: dict[str, Path], out: Path) -> list[Job]:
    """The jobs in trigger order: Spark jobs spread evenly, poison ones every 1/poison, slow ones among the rest."""
    spark_at = {round((i + 0.5) * total / spark) for i in range(spark)} if spark else set()
    poison_every = round(1 / poison) if poison else 0
    slow_every = round(1 / slow) if slow else 0
    jobs = []
    for i in range(total):
        if i in spark_at:
            kind, source, engine = "spark", inputs["quick"], "spark"
        elif poison_every and i % poison_every == poison_every - 1:
            kind, engine = "poison", "local"
            source = inputs["missing"] if (i // poison_every) % 2 == 0 else inputs["corrupt"]
        elif slow_every and i % slow_every == 1:
            kind, source, engine = "slow", inputs["slow"], "local"
        else:
            kind, source, engine = "quick", inputs["quick"], "local"
        conf = {"input_path": str(source), "output_root": str(out / f"job{i:05d}"), "engine": engine}
        jobs.append(Job(i, kind, conf))
    return jobs


def spark_resources(path: Path) -> Path:
    """Write the configuration that fits two Spark applications at once on the 2-core worker; return its path."""
    path.write_text("engines:\n  spark:\n    executor_memory: 1g\n    executor_cores: 1\n    max_executors: 1\n")
    return path


def run_states(stack) -> dict[str, str]:
    """Every run of the DAG with its state."""
    states: dict[str, str] = {}
    while True:
        page = stack.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100, "offset": len(states)})
        runs = page.json()["dag_runs"]
        states.update({r["dag_run_id"]: r["state"] for r in runs})
        if len(runs) < 100:
            return states


def running_attempts(registry) -> list[dict]:
    """The running attempts of the DAG's jobs (with the pid of their task process)."""
    attempts = []
    for job in registry.list_jobs(dag_id=DAG_ID, status="running", limit=1000):
        detail = registry.get_job(job["job_id"]) or {"attempts": []}
        attempts += [{**a, "run_id": job["run_id"]} for a in detail["attempts"] if a["status"] == "running"]
    return attempts


def kill_tries(chaos: Chaos, registry) -> None:
    """Choose new running tries to kill (each job at most once), and kill those whose moment has come."""
    import psutil

    for attempt in running_attempts(registry):
        key = (attempt["job_id"], attempt["try_number"])
        if key in chaos.seen or attempt["run_id"] in chaos.killed_jobs or not attempt.get("pid"):
            continue
        chaos.seen.add(key)
        if chaos.rng.random() < chaos.kill_rate:
            victim = "task" if sum(chaos.kills.values()) % 2 == 0 else "supervisor"
            chaos.pending.append((time.monotonic() + chaos.rng.uniform(0, chaos.kill_window), attempt, victim))
            chaos.killed_jobs[attempt["run_id"]] = f"{victim} of try {attempt['try_number']}"
    now, later = time.monotonic(), []
    for when, attempt, victim in chaos.pending:
        if when > now:
            later.append((when, attempt, victim))
            continue
        try:
            task = psutil.Process(attempt["pid"])
            target = task if victim == "task" else task.parent()
            os.kill(target.pid, signal.SIGKILL)
            chaos.kills[victim] += 1
        except (psutil.NoSuchProcess, ProcessLookupError, AttributeError):
            chaos.kills["missed (try ended first)"] += 1
    chaos.pending = later


def restart_registry(chaos: Chaos, registry_dir: Path, downtime: float) -> None:
    """Stop the registry's PostgreSQL (fast shutdown: sessions are cut) and start it again after ``downtime``."""
    from airflow_provider_enterprise.dev import embedded_db

    before = embedded_db.running_server(registry_dir)
    started = time.monotonic()
    embedded_db.stop(registry_dir)
    time.sleep(downtime)
    after = embedded_db.start(registry_dir, ())
    assert (after.socket_dir, after.port) == (before.socket_dir, before.port), "the registry moved"
    chaos.registry_restart_s = round(time.monotonic() - started, 1)
    chaos.event(f"registry restarted ({chaos.registry_restart_s} s down)")


def kill_spark_worker(chaos: Chaos, cluster, downtime: float) -> bool:
    """SIGKILL the worker and its executors while an application runs; start a new worker. False: none ran."""
    running = [a for a in cluster.master_json().get("activeapps", []) if a.get("state") == "RUNNING"]
    if not running:
        return False
    cluster.kill_worker()
    time.sleep(downtime)
    cluster.start_worker()
    chaos.worker_kill = {"applications_running": len(running), "names": [a.get("name") for a in running]}
    chaos.event(f"Spark worker killed with {len(running)} application(s) running")
    return True


def drive(stack, registry, cluster, jobs: list[Job], chaos: Chaos, args, registry_dir: Path) -> float:
    """Trigger the jobs, then apply the chaos until every run ended; return the seconds it took."""
    started = time.monotonic()
    for job in jobs:
        job.run_id = stack.trigger(DAG_ID, conf=job.conf)
    deadline, ended, last_count = started + args.timeout, 0, 0.0
    while ended < len(jobs):
        if time.monotonic() > deadline:
            chaos.event(f"{len(jobs) - ended} runs not ended after {args.timeout:.0f} s: counted lost")
            break
        kill_tries(chaos, registry)
        if time.monotonic() - last_count > 3:
            states = run_states(stack)  # the DAG's scheduled run is not one of the jobs
            ended = sum(1 for job in jobs if states.get(job.run_id) in TERMINAL_RUN_STATES)
            last_count = time.monotonic()
            print(f"  {ended}/{len(jobs)} ended at {time.monotonic() - started:.0f} s; kills {dict(chaos.kills)}")
        if chaos.registry_restart_s is None and ended >= args.restart_at * len(jobs):
            restart_registry(chaos, registry_dir, args.downtime)
        if chaos.worker_kill is None and ended >= args.worker_kill_at * len(jobs):
            kill_spark_worker(chaos, cluster, args.downtime)
        time.sleep(0.3)
    return time.monotonic() - started


def published(output_root: Path) -> tuple[int, int]:
    """Published outputs (directories holding ``_SUCCESS``) under ``output_root``, and staging leftovers."""
    if not output_root.exists():
        return 0, 0
    outputs = sum(1 for _ in output_root.rglob("_SUCCESS"))
    leftovers = sum(1 for p in output_root.rglob(".*") if p.is_dir() and ".staging-" in p.name)
    return outputs, leftovers


def verify(stack, registry, jobs: list[Job], killed: dict[str, str]) -> dict[str, Any]:
    """Classify every job from Airflow, the registry, the dead-letter queue and its output directory."""
    from airflow_provider_enterprise.hooks.metadata import JobKey
    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

    states = run_states(stack)
    letters: dict[str, list[dict]] = {}
    for letter in DeadLetterQueue(registry).find(dag_id=DAG_ID, limit=1_000_000):
        letters.setdefault(letter["run_id"], []).append(letter)
    outcome: Counter = Counter()
    lost, classes = [], Counter()
    duplicate_letters = duplicate_outputs = leftovers = poison_succeeded = superseded = 0
    several_letters, several_outputs = [], []
    for job in jobs:
        record = registry.find_job(JobKey(DAG_ID, job.run_id, TASK_ID)) or {"status": None, "attempts": []}
        attempts = record["attempts"]
        outputs, left = published(Path(job.conf["output_root"]))
        leftovers += left
        # a retry that reused its killed try's commit succeeds with that commit's run id: one publication
        commits = {a["external_id"] or a["attempt_id"] for a in attempts if a["status"] == "succeeded"}
        duplicate_outputs += max(0, outputs - 1) + max(0, len(commits) - 1)
        if outputs > 1 or len(commits) > 1:
            tries = [(a["try_number"], a["status"], a["external_id"], a["hostname"], a["pid"]) for a in attempts]
            several_outputs.append(
                {"kind": job.kind, "killed": killed.get(job.run_id), "outputs": outputs, "tries": tries}
            )
        job_letters = letters.get(job.run_id, [])
        unresolved = [d for d in job_letters if d["status"] in ("open", "replayed")]
        duplicate_letters += max(0, len(unresolved) - 1)
        superseded += sum(1 for d in job_letters if d["status"] == "superseded")
        if len(job_letters) > 1:
            letters_seen = [(d["try_number"], d["status"], d["error_class"]) for d in job_letters]
            several_letters.append({"kind": job.kind, "killed": killed.get(job.run_id), "letters": letters_seen})
        running = any(a["status"] == "running" for a in attempts)
        state = states.get(job.run_id)
        if state == "success" and record["status"] == "succeeded" and outputs == 1 and not running:
            outcome["succeeded"] += 1
            poison_succeeded += job.kind == "poison"
        elif state == "failed" and len(unresolved) >= 1 and outputs == 0 and not running:
            outcome["dead_lettered"] += 1
            classes[(job.kind, unresolved[0]["error_class"])] += 1
        else:
            outcome["lost"] += 1
            lost.append({"run_id": job.run_id, "kind": job.kind, "state": state, "registry": record["status"],
                         "outputs": outputs, "letters": len(job_letters), "running": running})  # fmt: skip
    return {
        "succeeded": outcome["succeeded"],
        "dead_lettered": outcome["dead_lettered"],
        "lost": outcome["lost"],
        "duplicate_dead_letters": duplicate_letters,
        "duplicate_outputs": duplicate_outputs,
        "superseded_dead_letters": superseded,
        "jobs_with_several_dead_letters": several_letters,
        "jobs_published_more_than_once": several_outputs,
        "staging_leftovers": leftovers,
        "poison_succeeded": poison_succeeded,
        "dead_letters_by_kind_and_class": {f"{k}/{c}": n for (k, c), n in sorted(classes.items())},
        "lost_jobs": lost[:20],
        "letters": [d for job in jobs for d in letters.get(job.run_id, []) if d["status"] == "open"],
    }


def replay_twice(stack, letters: list[dict]) -> dict[str, Any]:
    """Replay every open dead letter twice; count the replay runs each one has (exactly one expected)."""
    from airflow_provider_enterprise.resilience.dead_letter import replay_run_id
    from support.cli import orchestrator

    ids = [str(d["dead_letter_id"]) for d in letters]
    outputs = [orchestrator(stack, "dlq", "replay", *ids) if ids else "" for _ in range(2)]
    runs = Counter(run for run in run_states(stack) if run.startswith("replay"))
    expected = {replay_run_id(d["dead_letter_id"]) for d in letters}
    return {
        "replayed": len(ids),
        "second_call_already_triggered": outputs[1].count("already triggered"),
        "replays_without_one_run": sum(1 for run in expected if runs[run] != 1),
        "replay_runs_not_expected": sum(1 for run in runs if run not in expected),
    }


def report(results: dict[str, Any]) -> None:
    print_table(
        f"Chaos: {results['jobs']} jobs ({results['kinds']}), events: {'; '.join(results['events'])}",
        ["jobs", "succeeded", "dead-lettered", "lost", "dup letters", "dup outputs", "kills", "wall s", "jobs/min"],
        [
            [
                results["jobs"],
                results["succeeded"],
                results["dead_lettered"],
                results["lost"],
                results["duplicate_dead_letters"],
                results["duplicate_outputs"],
                results["kills_total"],
                results["wall_s"],
                results["jobs_per_min"],
            ]
        ],
    )
    print(f"kills: {results['kills']}; replay: {results['replay']}")
    print(f"dead letters: {results['dead_letters_by_kind_and_class']}")
    if results["jobs_with_several_dead_letters"]:
        print(f"jobs with several dead letters: {results['jobs_with_several_dead_letters']}")
    if results.get("jobs_published_more_than_once"):
        print(f"jobs published more than once: {results['jobs_published_more_than_once']}")
    if results["lost_jobs"]:
        print(f"lost (first 20): {results['lost_jobs']}")


def combine(paths: list[Path]) -> dict[str, Any]:
    """Add up the results of runs made one after another (``--jobs`` split into parts, each on a fresh stack)."""
    parts = [json.loads(path.read_text()) for path in paths]
    total: dict[str, Any] = {"parts": len(parts), "events": [], "lost_jobs": [], "command": []}
    total["jobs_with_several_dead_letters"], total["jobs_published_more_than_once"] = [], []
    for number, part in enumerate(parts, 1):
        total["events"] += [f"part {number}: {event}" for event in part["events"]]
        total["lost_jobs"] += part["lost_jobs"]
        total["jobs_with_several_dead_letters"] += part.get("jobs_with_several_dead_letters", [])
        total["jobs_published_more_than_once"] += part.get("jobs_published_more_than_once", [])
        total["command"].append(part["command"])
        for key, value in part.items():
            if key in total or key in ("machine", "benchmark", "jobs_per_min", "spark_worker_kill"):
                continue
            if isinstance(value, dict):
                counts = Counter(total.setdefault(f"_{key}", Counter()))
                counts.update(value)
                total[f"_{key}"] = counts
            elif isinstance(value, int | float):
                total[f"_{key}"] = total.get(f"_{key}", 0) + value
    results = {key.removeprefix("_"): dict(v) if isinstance(v, Counter) else v for key, v in total.items()}
    results["wall_s"] = round(results["wall_s"], 1)
    results["jobs_per_min"] = round(results["jobs"] / results["wall_s"] * 60, 1)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--poison", type=float, default=0.10, help="share of jobs with a poison input")
    parser.add_argument("--spark-jobs", type=int, default=10, help="jobs on the Spark engine")
    parser.add_argument("--slow", type=float, default=0.05, help="share of jobs reading the larger input")
    parser.add_argument("--slow-rows", type=int, default=5_000_000, help="rows of the larger input")
    parser.add_argument("--kill-rate", type=float, default=0.10, help="chance that a running try is SIGKILLed")
    parser.add_argument("--kill-window", type=float, default=2.0, help="seconds into a try a kill may come")
    parser.add_argument("--restart-at", type=float, default=0.4, help="share of jobs ended at the registry restart")
    parser.add_argument("--worker-kill-at", type=float, default=0.5, help="share ended at the Spark worker kill")
    parser.add_argument("--downtime", type=float, default=5.0, help="seconds the registry and the worker are down")
    parser.add_argument("--seed", type=int, default=34)
    parser.add_argument("--timeout", type=float, default=7200, help="seconds to wait for the jobs")
    parser.add_argument("--smoke", action="store_true", help="20 jobs, 2 of them on Spark")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--combine", type=Path, nargs="+", help="add up these results (of parts) instead of a run")
    args = parser.parse_args(argv)
    if args.combine:
        results = combine(args.combine)
        report(results)
        write_json(args.json, {"benchmark": "chaos", **results})
        return results
    if args.smoke:
        args.jobs, args.spark_jobs, args.timeout = 20, 2, 900

    from airflow_provider_enterprise.dev import embedded_db
    from airflow_provider_enterprise.resilience import dead_letter  # noqa: F401 - loaded now: edits during a run
    from support.processes import free_port
    from support.spark_cluster import SparkCluster

    with tempfile.TemporaryDirectory(prefix="ape-chaos-") as scratch:
        workdir = Path(scratch)
        registry_dir = workdir / "registry-pg"
        registry_server = embedded_db.start(registry_dir, ())
        cluster = SparkCluster(workdir / "spark", worker_cores=2, worker_memory="2g", connect_server=False)
        stack = server = None
        try:
            cluster.start()
            port = free_port()
            extra = {
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                # killed supervisors: let the scheduler notice a silent task within seconds, not minutes
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
                "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps(
                    {"conn_type": "spark", "host": "spark://127.0.0.1", "port": cluster.master_port}
                ),
                "ENTERPRISE_CONFIG": str(spark_resources(workdir / "enterprise.yaml")),
                "ENTERPRISE_OUTPUT_DIR": str(workdir / "default-output"),
            }
            dag_files = [REPO / "dags" / "enterprise_daily_processing.py"]
            server, stack, registry = own_stack(workdir, dag_files, extra, registry_server=registry_server)
            stack.start(timeout=300)
            stack.wait_for_dag(DAG_ID)
            inputs = make_inputs(workdir / "inputs", args.slow_rows)
            jobs = plan_jobs(args.jobs, args.poison, args.spark_jobs, args.slow, inputs, workdir / "out")
            chaos = Chaos(args.kill_rate, args.kill_window, random.Random(args.seed))
            wall = drive(stack, registry, cluster, jobs, chaos, args, registry_dir)
            time.sleep(2)
            from support.cli import orchestrator

            chaos.event(orchestrator(stack, "dlq", "reconcile", "--stale-after", "1").strip().splitlines()[-1])
            found = verify(stack, registry, jobs, chaos.killed_jobs)
            replay = replay_twice(stack, found.pop("letters"))
        except Exception:
            if stack is not None:
                print(stack.logs_tail(120), file=sys.stderr)
            raise
        finally:
            if stack is not None:
                stack.stop()
            cluster.stop()
            embedded_db.stop(registry_dir)
            if server is not None:
                embedded_db.stop(server.data_dir)
    results = {
        "jobs": args.jobs,
        "kinds": dict(Counter(job.kind for job in jobs)),
        **found,
        "kills": dict(chaos.kills),
        "kills_total": sum(n for victim, n in chaos.kills.items() if not victim.startswith("missed")),
        "registry_restart_s": chaos.registry_restart_s,
        "spark_worker_kill": chaos.worker_kill,
        "events": chaos.events,
        "replay": replay,
        "wall_s": round(wall, 1),
        "jobs_per_min": round(args.jobs / wall * 60, 1),
        "command": " ".join(["bench/chaos.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    report(results)
    write_json(args.json, {"benchmark": "chaos", **results})
    return results


if __name__ == "__main__":
    main()
