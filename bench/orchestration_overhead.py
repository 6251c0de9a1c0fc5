"""
Orchestration overhead: the per-task time our operator adds over a bare PythonOperator doing the same DuckDB call.

    .venv/bin/python bench/orchestration_overhead.py --runs 10 --json docs/bench/orchestration_overhead.json

Three one-task DAGs (``bench/dags/bench_orchestration.py``) run the same filter and group-by over ``--rows``
rows of Parquet generated here, writing Parquet: ``python``, a PythonOperator whose callable runs the query
hand-written in DuckDB; ``local``, EnterpriseDataProcessingOperator with ``execution_engine="local"``;
``auto``, the same with ``execution_engine="auto"``, so routing runs too. Each run of a variant is one
``airflow dags test`` on the embedded PostgreSQL defaults (as ``make run``; every task in a fresh process, as
in a deployment), the variants interleaved run by run. StatsD is on, sent to a UDP socket this benchmark
drains, so metrics cost what they cost against a real StatsD server.

Measured per task: its duration (end - start of the task instance in Airflow's metadata database), its
registry attempt's duration (``finished_at - started_at``) and the breakdown the DAG file's timers write:
each component's own milliseconds inside ``execute`` (registry calls, metrics, settings, spec validation,
engine selection, imports, the engine's run) and ``airflow``, the task time outside ``execute``. Reported:
median and min-max per variant, overhead = median(local) - median(python) in ms, routing = median(auto) -
median(local), both per component; and, outside task time, what importing the provider's operator costs a
DAG file. A first round, not counted, fills the bytecode cache (imports load cached bytecode, as from an
installed package) and the page cache. ``--smoke`` is one counted run without it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]  # the shared bench modules; the tests' StatsD sink
from airflow_runs import AirflowRuns  # noqa: E402
from report import print_table, write_json  # noqa: E402

from support.statsd import UdpSink  # noqa: E402

VARIANTS = ("python", "local", "auto")
#: The file the DAG file's timers write to (``TIMINGS_ENV`` in ``bench/dags/bench_orchestration.py``).
TIMINGS_ENV = "BENCH_TIMINGS"
#: Components of a task's time, in the order of the table: Airflow's part, then the operator's.
COMPONENTS = (
    "airflow",
    "execute",
    "settings",
    "spec",
    "registry",
    "metrics",
    "engine_selection",
    "import",
    "engine",
    "gc",
)
OUR_METRICS = "airflow.enterprise."


def dag_id(variant: str) -> str:
    return f"bench_orchestration_{variant}"


def generate(path: Path, rows: int) -> None:
    """Orders: id, one of five regions, a status (a third inactive) and an amount from 0 to 99.9."""
    import duckdb

    duckdb.sql(
        "SELECT i AS order_id, 'region_' || (i % 5) AS region,"
        " CASE WHEN i % 3 = 0 THEN 'inactive' ELSE 'active' END AS status,"
        f" CAST((i * 37 % 1000) / 10 AS DECIMAL(6, 1)) AS amount FROM range({rows}) AS t(i)"
    ).write_parquet(str(path))


def _attempt(airflow: AirflowRuns, variant: str, run_id: str) -> dict[str, Any]:
    """The registry's attempt of a run's job: its duration, engine and routing decision."""
    import psycopg

    with psycopg.connect(airflow.registry_uri) as conn:
        ((seconds, engine, routing),) = conn.execute(
            "SELECT extract(epoch FROM a.finished_at - a.started_at), a.engine, a.routing"
            " FROM enterprise_job_attempts a JOIN enterprise_jobs j USING (job_id)"
            " WHERE j.dag_id = %s AND j.run_id = %s AND a.status = 'succeeded'",
            (dag_id(variant), run_id),
        ).fetchall()
    return {"attempt_ms": float(seconds) * 1000, "engine": engine, "routing": routing}


def measure(airflow: AirflowRuns, sink: UdpSink, variant: str, data: Path, out: Path) -> dict[str, Any]:
    """Run the variant's DAG once; return its task time, breakdown, attempt and metrics sent."""
    out.mkdir(exist_ok=True)
    timings = out / f"{variant}.jsonl"
    sent_before = len(sink.datagrams(OUR_METRICS))
    conf = {"input_path": str(data), "output_dir": str(out)}
    airflow.dags_test(dag_id(variant), conf, {TIMINGS_ENV: str(timings)})
    run_id, seconds = airflow.last_task(dag_id(variant), "job")
    components: dict[str, float] = defaultdict(float)
    registry_calls: dict[str, float] = defaultdict(float)
    for line in timings.read_text().splitlines():
        timing = json.loads(line)
        components[timing["component"]] += timing["ms"]
        if timing["component"] == "registry":
            registry_calls[timing["call"]] += timing["ms"]
    dag_file_ms = components.pop("dag_file")
    time.sleep(0.1)  # for the run's last datagrams to be read from the socket
    components["airflow"] = seconds * 1000 - sum(components.values())
    sample = {
        "task_ms": seconds * 1000,
        "components": dict(components),
        "registry_calls": dict(registry_calls),
        "dag_file_import_ms": dag_file_ms,
        "metrics_sent": len(sink.datagrams(OUR_METRICS)) - sent_before,
    }
    if variant != "python":
        sample.update(_attempt(airflow, variant, run_id))
    return sample


def _same_results(out: Path) -> None:
    """Every variant wrote the same rows (the benchmark compares equal work)."""
    import duckdb

    results = {
        v: duckdb.sql(f"SELECT * FROM read_parquet('{out / v}/*.parquet') ORDER BY region").fetchall() for v in VARIANTS
    }
    if any(rows != results["python"] for rows in results.values()):
        raise AssertionError(f"the variants wrote different results: {results}")


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
    }


def summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median and spread per variant, and the overhead of ``local`` over ``python`` and of ``auto`` over ``local``."""
    variants: dict[str, Any] = {}
    for variant, runs in samples.items():
        row = {"runs": len(runs), **_spread([s["task_ms"] for s in runs])}
        row["components_median_ms"] = {
            c: round(statistics.median(s["components"].get(c, 0.0) for s in runs), 1) for c in COMPONENTS
        }
        row["dag_file_import_ms"] = round(statistics.median(s["dag_file_import_ms"] for s in runs), 1)
        row["metrics_sent"] = statistics.median_low(s["metrics_sent"] for s in runs)
        if variant != "python":
            calls = sorted({call for s in runs for call in s["registry_calls"]})
            row["registry_calls_median_ms"] = {
                call: round(statistics.median(s["registry_calls"].get(call, 0.0) for s in runs), 1) for call in calls
            }
            row["attempt"] = _spread([s["attempt_ms"] for s in runs])
            row["engines"] = sorted({s["engine"] for s in runs})
            row["routing"] = runs[-1]["routing"]
        variants[variant] = row

    def difference(ours: str, theirs: str) -> dict[str, Any]:
        a, b = variants[ours], variants[theirs]
        return {
            "total_ms": round(a["median_ms"] - b["median_ms"], 1),
            "components_ms": {
                c: round(a["components_median_ms"][c] - b["components_median_ms"][c], 1) for c in COMPONENTS
            },
        }

    return {
        "variants": variants,
        "overhead": difference("local", "python"),
        "routing": difference("auto", "local"),
    }


def report(results: dict[str, Any]) -> None:
    variants, overhead, routing = results["variants"], results["overhead"], results["routing"]
    print_table(
        f"Per-task time, {results['runs']} interleaved runs of `airflow dags test`, {results['rows']:,} rows of "
        f"Parquet, {os.cpu_count()} CPUs (ms)",
        ("variant", "median", "min-max", "registry attempt", "our metrics sent"),
        [
            (
                v,
                f"{row['median_ms']:.1f}",
                f"{row['min_ms']:.1f}-{row['max_ms']:.1f}",
                f"{row['attempt']['median_ms']:.1f}" if "attempt" in row else "-",
                row["metrics_sent"],
            )
            for v, row in variants.items()
        ],
    )
    print_table(
        "Where a task's time goes (medians, ms; 'airflow' is the task time outside execute)",
        ("component", *VARIANTS, "local - python", "auto - local"),
        [
            (
                c,
                *(f"{variants[v]['components_median_ms'][c]:.1f}" for v in VARIANTS),
                f"{overhead['components_ms'][c]:+.1f}",
                f"{routing['components_ms'][c]:+.1f}",
            )
            for c in COMPONENTS
        ]
        + [
            (
                "task",
                *(f"{variants[v]['median_ms']:.1f}" for v in VARIANTS),
                f"{overhead['total_ms']:+.1f}",
                f"{routing['total_ms']:+.1f}",
            )
        ],
    )
    calls = variants["auto"]["registry_calls_median_ms"]  # the local variant's calls and annotate_attempt
    print_table(
        "Registry calls (medians, ms; get_conn resolves the connection and connects, inside the first call)",
        ("call", "local", "auto"),
        [(c, f"{variants['local']['registry_calls_median_ms'].get(c, 0.0):.1f}", f"{calls[c]:.1f}") for c in calls],
    )
    print(
        f"Overhead of the operator over a bare PythonOperator: {overhead['total_ms']:.1f} ms per task; "
        f"routing (auto) adds {routing['total_ms']:.1f} ms. Outside task time, a DAG file importing the "
        f"operator pays {variants['local']['dag_file_import_ms']:.1f} ms once per task process."
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="interleaved runs of each variant")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the input")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--smoke", action="store_true", help="one run")
    args = parser.parse_args(argv)
    runs, warm_up = (1, 0) if args.smoke else (args.runs, 1)

    sink = UdpSink().start()
    env = {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(sink.port),
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
        # imports load cached bytecode, as from an installed package (not every module compiled in every process)
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "ape-bench-pycache"),
    }
    try:
        airflow = AirflowRuns.start(env)
        samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        with tempfile.TemporaryDirectory(prefix="ape-orchestration-") as scratch:
            data = Path(scratch) / "orders.parquet"
            generate(data, args.rows)
            load_at_start = os.getloadavg()  # other work on the machine slows every variant
            for run in range(warm_up + runs):
                for variant in VARIANTS:  # interleaved, so drift hits every variant alike
                    sample = measure(airflow, sink, variant, data, Path(scratch) / f"run-{run}")
                    if run >= warm_up:
                        samples[variant].append(sample)
            _same_results(Path(scratch) / f"run-{warm_up + runs - 1}")
    finally:
        sink.stop()
    results = {
        "runs": runs,
        "rows": args.rows,
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        **summarize(samples),
    }
    report(results)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
