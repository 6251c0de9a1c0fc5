"""
TPC-H Q1 over lineitem: the local engine's engine time against hand-written baselines, in one process tree.

    .venv/bin/python bench/tpch_q1.py --scale 1 --runs 5 --formats csv parquet
    .venv/bin/python bench/tpch_q1.py --engine spark --scale 1 --runs 5

Generates lineitem with ``tpchgen-cli`` (never committed) into ``--data-dir``, then runs, interleaved, for
each format: the local engine (``LocalEngine.run`` on the spec below: compile, read, transform, write,
commit, row counts, bad-row rules) with its defaults (``engine``: every CSV input read in one scan that checks
it; ``engine_one_scan`` is the same engine with ``proof_min_bytes=None`` spelled out, kept for earlier results,
from when a CSV input of 64 MiB or more was first proven good by Polars), and two
baselines computing the same result into the same kind of output, as a user writes them: Q1 over DuckDB's
``read_csv`` with auto-detection, copied to Parquet, and Polars' ``scan_csv(..., try_parse_dates=True)`` on its
streaming engine, sunk to Parquet. The baselines read the input once and count nothing (their rows/s use the
engine's count). ``--candidates engine floor`` also runs the floor, which is not a baseline: Q1 over the strings of
every column converted with ``CAST`` and no check, the least a DuckDB scan that judges every field must do. Every
run is a fresh child process, so each reports its own peak RSS. Prints a table (median
and spread of the runs, rows/s, rows/hour, ratio to the fastest baseline) and writes it as JSON (``--json``).

With ``--bad-rows FRACTION`` the CSV input is a copy of lineitem with that fraction of its records made bad, of
every kind in turn (a bigint, a double and a date that do not parse, a short and a long record, bytes that are
not UTF-8, U+FFFD in a string); only the engine candidates run (the baselines have no bad-row rules), and every
run must count the file's records and quarantine exactly the bad records made, each at its line.

With ``--engine spark`` the candidates are the Spark engine (``SparkEngine.run``: spark-submit of the generic
application on ``local[2]``, with its bad-row checks, manifest and commit), a plain spark-submit of Q1
hand-written in PySpark (``bench/spark_q1.py``) with the same Spark settings, and a spark-submit that only
starts and stops a session: Spark's fixed cost, which both pay.

With ``--task-time`` it also measures **task time**: the same Q1 as one Airflow task (``bench/dags``) run by
``airflow dags test`` on the embedded PostgreSQL defaults (as ``make run``), timed from the task instance's
start to its end in Airflow's metadata database, with its job's attempt in the registry against the engine time
the task returned, and the peak RSS of the process that ran it against that of the same process running an empty
task (``idle_task``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_runs import AirflowRuns  # noqa: E402

#: Q1 in processing_logic (the date is 1998-12-01 minus 90 days); the benchmark DAG reads the same file.
Q1_LOGIC = json.loads((Path(__file__).with_name("tpch_q1_logic.json")).read_text())

DUCKDB_Q1 = """
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc,
       count(*) AS count_order
FROM {source}
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus
"""

#: Candidates per engine: the engine under test first, then its baselines.
CANDIDATES = {
    "local": ("engine", "engine_one_scan", "duckdb", "polars", "floor"),
    "spark": ("spark_engine", "spark_submit", "spark_fixed"),
}
#: The candidates that run the local engine (the others are baselines, or Spark's).
ENGINES = ("engine", "engine_one_scan")
#: Candidates that run only when ``--candidates`` names them, and are not baselines: ``floor`` is DuckDB's Q1 over
#: the strings of every column converted with ``CAST`` without any check, the least a scan that judges every field
#: of a CSV input does in DuckDB (where the engine's time goes, ``docs/benchmarks.md``).
MEASURES = ("floor",)
#: The Spark master of every Spark candidate; both get the same settings (driver memory, shuffle partitions).
SPARK_MASTER = "local[2]"
SPARK_CONF = {"spark.driver.memory": "2g", "spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"}
HANDWRITTEN_Q1 = Path(__file__).with_name("spark_q1.py")


def generate(scale: float, data_dir: Path, file_format: str) -> Path:
    """Generate lineitem at ``scale`` (cached by scale and format) and return its path."""
    target = data_dir / f"sf{scale:g}" / file_format
    path = target / f"lineitem.{file_format}"
    if not path.exists():
        target.mkdir(parents=True, exist_ok=True)
        tool = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
        subprocess.run(
            [tool, file_format, "-s", f"{scale:g}", "--tables=lineitem", f"--output-dir={target}"], check=True
        )
    return path


def _run_engine(path: Path, out: Path, **settings) -> tuple[int, int, list[int]]:
    from airflow_provider_enterprise.engines.local import LocalEngine
    from airflow_provider_enterprise.spec import validate_job_spec

    spec = validate_job_spec(
        {"job_name": "tpch_q1", "input_path": str(path), "output_path": str(out), "processing_logic": Q1_LOGIC}
    )
    result = LocalEngine(**settings).run(spec)
    return result.rows_in, result.bad_rows, _quarantined_lines(result.bad_rows_path)


def _quarantined_lines(path: str | None) -> list[int]:
    """The lines of the quarantined records, in the quarantine's order."""
    if path is None:
        return []
    return [json.loads(line)["line"] for line in Path(path).read_text().splitlines()]


def _run_engine_one_scan(path: Path, out: Path) -> tuple[int, int, list[int]]:
    return _run_engine(path, out, proof_min_bytes=None)


def _run_floor(path: Path, out: Path) -> int:
    import duckdb

    from airflow_provider_enterprise.compiler.plan import Column
    from airflow_provider_enterprise.engines import duckdb_inputs
    from airflow_provider_enterprise.engines.duckdb_inputs import declarable_type

    con = duckdb.connect()
    sniffed = con.read_csv(str(path), header=True)
    columns = tuple(Column(c, declarable_type(str(t))) for c, t in zip(sniffed.columns, sniffed.types, strict=True))
    strings = {c.name: "VARCHAR" for c in columns}
    con.read_csv(str(path), header=True, columns=strings, auto_detect=False, strict_mode=True).create_view("raw")
    duckdb_inputs._guard_scans(con)  # the one scan's settings
    con.execute(f"CREATE VIEW lineitem AS {duckdb_inputs._sql(duckdb_inputs._converted('raw', columns))}")
    out.mkdir(parents=True)
    con.execute(
        f"COPY ({DUCKDB_Q1.format(source='lineitem')}) TO $out (FORMAT parquet)", {"out": str(out / "q1.parquet")}
    )
    return 0


def _run_duckdb(path: Path, out: Path) -> int:
    import duckdb

    source = f"read_csv('{path}', header=true)" if path.suffix == ".csv" else f"read_parquet('{path}')"
    out.mkdir(parents=True)
    duckdb.connect().execute(
        f"COPY ({DUCKDB_Q1.format(source=source)}) TO $out (FORMAT parquet)", {"out": str(out / "q1.parquet")}
    )
    return 0  # a user's query counts nothing (the table reports the engine's count)


def _run_polars(path: Path, out: Path) -> int:
    import datetime

    import polars as pl

    frame = pl.scan_csv(path, try_parse_dates=True) if path.suffix == ".csv" else pl.scan_parquet(path)
    disc_price = pl.col("l_extendedprice") * (1 - pl.col("l_discount"))
    result = (
        frame.filter(pl.col("l_shipdate") <= datetime.date(1998, 9, 2))
        .group_by("l_returnflag", "l_linestatus")
        .agg(
            pl.col("l_quantity").sum().alias("sum_qty"),
            pl.col("l_extendedprice").sum().alias("sum_base_price"),
            disc_price.sum().alias("sum_disc_price"),
            (disc_price * (1 + pl.col("l_tax"))).sum().alias("sum_charge"),
            pl.col("l_quantity").mean().alias("avg_qty"),
            pl.col("l_extendedprice").mean().alias("avg_price"),
            pl.col("l_discount").mean().alias("avg_disc"),
            pl.len().alias("count_order"),
        )
        .sort("l_returnflag", "l_linestatus")
    )
    out.mkdir(parents=True)
    result.sink_parquet(out / "q1.parquet", engine="streaming")
    return 0


def _run_spark_engine(path: Path, out: Path) -> int:
    from airflow_provider_enterprise.config import SparkEngineSettings
    from airflow_provider_enterprise.engines.spark import SparkEngine, SparkTarget
    from airflow_provider_enterprise.spec import validate_job_spec

    spec = validate_job_spec(
        {
            "job_name": "tpch_q1",
            "input_path": str(path),
            "output_path": str(out),
            "processing_logic": Q1_LOGIC,
            "execution_engine": "spark",
            "spark_resources": {"driver_memory": SPARK_CONF["spark.driver.memory"], "conf": SPARK_CONF},
        }
    )
    engine = SparkEngine(target=SparkTarget(SPARK_MASTER), settings=SparkEngineSettings(), run_id="bench")
    return engine.run(spec).rows_in


def _spark_submit(*args: str) -> str:
    conf = [item for key, value in SPARK_CONF.items() for item in ("--conf", f"{key}={value}")]
    argv = ["spark-submit", "--master", SPARK_MASTER, *conf, str(HANDWRITTEN_Q1), *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def _run_spark_submit(path: Path, out: Path) -> int:
    _spark_submit(str(path), str(out))
    return 0  # the baseline does not count its input (the table reports the engine's count)


def _run_spark_fixed(path: Path, out: Path) -> int:
    _spark_submit("--empty")
    return 0


def child(candidate: str, path: Path, out: Path) -> None:
    """Run one candidate once and print its timing as JSON (called in a fresh process)."""
    runner = {
        "engine": _run_engine,
        "engine_one_scan": _run_engine_one_scan,
        "duckdb": _run_duckdb,
        "polars": _run_polars,
        "floor": _run_floor,
        "spark_engine": _run_spark_engine,
        "spark_submit": _run_spark_submit,
        "spark_fixed": _run_spark_fixed,
    }[candidate]
    # imports are not part of engine time: load them before the clock starts
    if candidate in (*ENGINES, *MEASURES):
        import airflow_provider_enterprise.engines.local  # noqa: F401
        import airflow_provider_enterprise.spec  # noqa: F401
    if candidate == "spark_engine":
        import airflow_provider_enterprise.engines.spark  # noqa: F401
        import airflow_provider_enterprise.hooks.spark_submit  # noqa: F401
    import duckdb  # noqa: F401

    if candidate == "polars":
        import polars  # noqa: F401
    started = time.perf_counter()
    rows, bad, lines = runner(path, out), None, None
    seconds = time.perf_counter() - started
    if isinstance(rows, tuple):  # the engine: its records in, bad rows and the quarantined records' lines
        rows, bad, lines = rows
    # the JVM of a Spark candidate is a child process: report the larger of the two peaks
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    sample = {
        "candidate": candidate,
        "rows": rows,
        "bad_rows": bad,
        "quarantined_lines": lines,
        "seconds": seconds,
        "peak_rss_mb": peak_kib / 1024,
    }
    print(json.dumps(sample))


def with_bad_rows(path: Path, fraction: float) -> Path:
    """
    A copy of CSV ``path`` with every ``1/fraction``-th record made bad, of each kind in turn (cached), each on its
    own line: the copy has as many records as lines.
    """
    target = path.with_name(f"{path.stem}-with-bad-rows-{fraction:g}.csv")
    if target.exists():
        return target
    every = round(1 / fraction)
    kinds = [
        lambda f: [f[0], f[1], f[2], f[3], b"1x", *f[5:]],  # l_quantity: not a bigint
        lambda f: [*f[:5], b"NaN", *f[6:]],  # l_extendedprice: not a double
        lambda f: [*f[:10], b"1998-1-5", *f[11:]],  # l_shipdate: not a date
        lambda f: f[:-1],  # a short record
        lambda f: [*f, b"extra"],  # a long record
        lambda f: [*f[:-1], f[-1][:-1] + b'\xff"'],  # bytes that are not UTF-8 (inside the quoted comment)
        lambda f: [*f[:-1], f[-1][:-1] + '\ufffd"'.encode()],  # U+FFFD in a string
    ]
    partial = target.with_name(f".{target.name}.partial")
    with path.open("rb") as source, partial.open("wb") as sink:
        header = source.readline()
        sink.write(header)
        last = header.count(b",")  # lineitem's comment is last, quoted, and may hold commas (even at its end)
        for number, line in enumerate(source, start=1):
            if number % every == 0:
                fields = line.rstrip(b"\n").split(b",", last)
                line = b",".join(kinds[number // every % len(kinds)](fields)) + b"\n"
            sink.write(line)
    partial.rename(target)
    return target


def bad_records_made(records: int, fraction: float) -> int:
    """How many of ``records`` records :func:`with_bad_rows` makes bad."""
    return records // round(1 / fraction)


def bad_lines_made(records: int, fraction: float) -> list[int]:
    """The lines of the records :func:`with_bad_rows` makes bad (record ``n`` is on line ``n + 1``, after the
    header)."""
    every = round(1 / fraction)
    return [every * k + 1 for k in range(1, bad_records_made(records, fraction) + 1)]


def measure(candidate: str, path: Path, scratch: Path, keep: Path | None = None) -> dict:
    """Run ``candidate`` once in a child process; keep its output as ``keep / candidate`` if given."""
    out = scratch / f"{candidate}-{time.monotonic_ns()}"
    completed = subprocess.run(
        [sys.executable, __file__, "--child", candidate, str(path), str(out)], capture_output=True, text=True
    )
    if completed.returncode:
        raise RuntimeError(f"{candidate} failed on {path}:\n{(completed.stdout + completed.stderr)[-4000:]}")
    if keep is not None and out.exists():  # the last run's output replaces an earlier run's
        shutil.rmtree(keep / candidate, ignore_errors=True)
        keep.mkdir(parents=True, exist_ok=True)
        shutil.move(out, keep / candidate)
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def task_times(path: Path, runs: int, scratch: Path) -> tuple[list[dict], list[dict]]:
    """
    Run Q1 as an Airflow task ``runs`` times, interleaved with an idle task: return each Q1 task instance's
    duration, its job's attempt in the registry, the engine time the task returned and the peak RSS of the
    process, and each idle task's duration and peak RSS.
    """
    airflow = AirflowRuns.start()
    samples, idle = [], []
    for run in range(runs):
        conf = {"input_path": str(path), "output_path": str(scratch / f"task-{run}")}
        peak_mb = airflow.dags_test("bench_tpch_q1", conf)
        run_id, seconds = airflow.last_task("bench_tpch_q1", "q1")
        engine_s = airflow.task_result("bench_tpch_q1", "q1", run_id)["duration_seconds"]
        attempt_s = airflow.attempt_seconds("bench_tpch_q1", run_id)
        samples.append(
            {
                "candidate": "task",
                "rows": None,
                "seconds": seconds,
                "peak_rss_mb": peak_mb,
                "attempt_s": attempt_s,
                "engine_s": engine_s,
                "attempt_over_engine_s": attempt_s - engine_s,
            }
        )
        idle_mb = airflow.dags_test("bench_tpch_q1_idle", {})
        _, idle_seconds = airflow.last_task("bench_tpch_q1_idle", "idle")
        idle.append({"candidate": "idle_task", "rows": None, "seconds": idle_seconds, "peak_rss_mb": idle_mb})
    return samples, idle


def summarize(samples: list[dict]) -> dict:
    seconds = [s["seconds"] for s in samples]
    median = statistics.median(seconds)
    rows = samples[0]["rows"] or 0
    return {
        "runs": len(seconds),
        "median_s": round(median, 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "rows": rows,
        "rows_per_s": round(rows / median) if rows else None,
        "rows_per_hour": round(rows / median * 3600) if rows else None,
        "peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples), 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (1 = 6M lineitem rows)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per candidate")
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ape-tpch")
    parser.add_argument("--engine", choices=sorted(CANDIDATES), default="local", help="the engine to measure")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--task-time", action="store_true", help="also time Q1 as a whole Airflow task")
    parser.add_argument("--bad-rows", type=float, default=None, help="make this fraction of the CSV records bad")
    parser.add_argument("--candidates", nargs="+", default=None, help="run only these candidates (an engine first)")
    parser.add_argument(
        "--keep-outputs",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep each candidate's last output in DIR/<format>/<candidate>",
    )
    args = parser.parse_args(argv)
    if args.task_time and args.engine != "local":
        parser.error("--task-time measures the local engine's task (use it without --engine spark)")
    if args.bad_rows and (args.engine != "local" or args.formats != ["csv"]):
        parser.error("--bad-rows makes a CSV input bad for the local engine (use it with --formats csv)")

    candidates = ENGINES if args.bad_rows else CANDIDATES[args.engine]
    if args.candidates:
        candidates = tuple(c for c in candidates if c in args.candidates)
        if not candidates or candidates[0] not in (*ENGINES, "spark_engine"):
            parser.error(f"--candidates must name an engine of {candidates}")
        if "floor" in candidates and args.formats != ["csv"]:
            parser.error("the floor candidate reads a CSV input (use it with --formats csv)")
    else:
        candidates = tuple(c for c in candidates if c not in MEASURES)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # spark-submit, tpchgen
    results: dict = {
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "engine": args.engine,
        "bad_rows": args.bad_rows,
        "formats": {},
    }
    with tempfile.TemporaryDirectory(prefix="ape-bench-") as scratch:
        for file_format in args.formats:
            path = generate(args.scale, args.data_dir, file_format)
            if args.bad_rows:
                path = with_bad_rows(path, args.bad_rows)
            samples: dict[str, list[dict]] = {c: [] for c in candidates}
            for _ in range(args.runs):
                for candidate in candidates:  # interleaved, so drift hits every candidate alike
                    keep = args.keep_outputs / file_format if args.keep_outputs else None
                    samples[candidate].append(measure(candidate, path, Path(scratch), keep))
            if args.bad_rows:  # every record read, every bad one found (lineitem's values hold no line breaks)
                records = (
                    int(subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True).stdout.split()[0]) - 1
                )
                expected = (records, bad_records_made(records, args.bad_rows))
                lines = bad_lines_made(records, args.bad_rows)
                for sample in (s for runs in samples.values() for s in runs):
                    if (sample["rows"], sample["bad_rows"]) != expected:
                        raise RuntimeError(f"{sample}: expected {expected} records and bad rows")
                    if sample["quarantined_lines"] != lines:  # each bad record found at its own line
                        raise RuntimeError(f"{sample['candidate']}: the quarantine is not the lines made bad")
            for sample in (s for runs in samples.values() for s in runs):
                sample.pop("quarantined_lines", None)
            for runs in samples.values():  # the baselines count nothing: rows/s by the engine's count
                for sample in runs:
                    sample["rows"] = sample["rows"] or samples[candidates[0]][0]["rows"]
            if args.task_time:
                samples["task"], samples["idle_task"] = task_times(path, args.runs, Path(scratch))
                for sample in samples["task"]:
                    sample["rows"] = samples[candidates[0]][0]["rows"]
            summary = {c: summarize(s) for c, s in samples.items()}
            tested, *baselines = candidates
            baselines = [c for c in baselines if c not in (*ENGINES, *MEASURES)]
            if args.engine == "spark":
                baselines = ["spark_submit"]  # spark_fixed is the fixed cost both pay, not a baseline
                summary["spark_fixed"]["rows_per_s"] = summary["spark_fixed"]["rows_per_hour"] = None
            if baselines:
                baseline = min(summary[c]["median_s"] for c in baselines)
                for candidate in (tested, *(c for c in candidates if c in ENGINES and c != tested)):
                    ratio = round(summary[candidate]["median_s"] / baseline, 3)
                    summary[candidate]["ratio_to_fastest_baseline"] = ratio
            if "task" in summary:
                task = summary["task"]
                task["overhead_over_engine_s"] = round(task["median_s"] - summary[candidates[0]]["median_s"], 3)
                # the targets of #31: the attempt within 0.5 s of the engine time the task measured, the task's
                # process within 0.5 GB of an idle task's
                over = [s["attempt_over_engine_s"] for s in samples["task"]]
                task["attempt_over_engine_s"] = {
                    "median": round(statistics.median(over), 3),
                    "max": round(max(over), 3),
                }
                task["rss_over_idle_task_mb"] = round(task["peak_rss_mb"] - summary["idle_task"]["peak_rss_mb"], 1)
            results["formats"][file_format] = summary

    print(f"TPC-H Q1, scale {args.scale:g}, {args.runs} interleaved runs, {os.cpu_count()} CPUs")
    header = ("format", "candidate", "median s", "min-max s", "rows/s", "rows/hour", "RSS MB")
    print("{:8} {:15} {:>9} {:>15} {:>12} {:>15} {:>7}".format(*header))
    for file_format, summary in results["formats"].items():
        for candidate, row in summary.items():
            spread = f"{row['min_s']:.3f}-{row['max_s']:.3f}"
            print(
                f"{file_format:8} {candidate:15} {row['median_s']:9.3f} {spread:>15} {row['rows_per_s'] or 0:12,} "
                f"{row['rows_per_hour'] or 0:15,} {row['peak_rss_mb']:7.1f}"
            )
        for candidate, row in summary.items():
            if "ratio_to_fastest_baseline" in row:
                print(f"{file_format:8} {candidate} / fastest baseline = {row['ratio_to_fastest_baseline']:.3f}")
        if "task" in summary:
            task = summary["task"]
            print(
                f"{file_format:8} task: attempt - engine time = {task['attempt_over_engine_s']['median']:.3f} s "
                f"(max {task['attempt_over_engine_s']['max']:.3f}); peak RSS - idle task's = "
                f"{task['rss_over_idle_task_mb']:.1f} MB"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
