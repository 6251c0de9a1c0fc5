"""
The cost of data-quality checks on TPC-H Q1: the local engine's time for Q1 without checks, with checks of its
output, and with checks of its input (lineitem) too.

    .venv/bin/python bench/tpch_q1_checks.py --scale 1 --runs 3 --formats parquet csv

Uses the lineitem ``bench/tpch_q1.py`` generates (``--data-dir``). Each candidate runs in a fresh child process,
interleaved with the others; the table gives the median engine time of the runs and its ratio to Q1 without checks.
The output's checks read Q1's four result rows; the input's read lineitem's 6M rows (per scale unit) once more,
in one aggregate query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
Q1_LOGIC = json.loads((BENCH / "tpch_q1_logic.json").read_text())

OUTPUT_CHECKS = [
    {"type": "not_null", "column": "sum_qty"},
    {"type": "unique", "columns": ["l_returnflag", "l_linestatus"]},
    {"type": "accepted_values", "column": "l_returnflag", "values": ["A", "N", "R"]},
    {"type": "range", "column": "avg_disc", "min": 0, "max": 0.1},
    {"type": "row_count", "min": 1, "max": 10},
    {"type": "schema", "columns": {"l_returnflag": "string", "count_order": "bigint"}, "mode": "evolve"},
]
INPUT_CHECKS = [
    {"type": "not_null", "column": "l_orderkey", "input": "input"},
    {"type": "range", "column": "l_discount", "min": 0, "max": 0.1, "input": "input"},
    {"type": "matches", "column": "l_shipmode", "pattern": "^[A-Z ]+$", "input": "input"},
    {"type": "row_count", "min": 1, "input": "input"},
]
CANDIDATES = {"no_checks": [], "output_checks": OUTPUT_CHECKS, "output_and_input_checks": OUTPUT_CHECKS + INPUT_CHECKS}


def child(candidate: str, path: Path, out: Path) -> None:
    from airflow_provider_enterprise.engines.local import LocalEngine
    from airflow_provider_enterprise.spec import validate_job_spec

    logic = {**Q1_LOGIC, "checks": CANDIDATES[candidate]}
    spec = validate_job_spec(
        {"job_name": "q1", "input_path": str(path), "output_path": str(out), "processing_logic": logic}
    )
    started = time.perf_counter()
    result = LocalEngine(proof_min_bytes=None).run(spec)
    seconds = time.perf_counter() - started
    outcomes = sorted({c["outcome"] for c in result.checks})
    print(
        json.dumps({"seconds": seconds, "rows_in": result.rows_in, "checks": len(result.checks), "outcomes": outcomes})
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["csv", "parquet"])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ape-tpch")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return {}
    sys.path.insert(0, str(BENCH))
    from tpch_q1 import generate

    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="q1-checks-") as scratch:
        for file_format in args.formats:
            path = generate(args.scale, args.data_dir, file_format)
            samples: dict[str, list[dict]] = {name: [] for name in CANDIDATES}
            for run in range(args.runs):
                for name in CANDIDATES:
                    out = Path(scratch) / f"{file_format}-{name}-{run}"
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", name, str(path), str(out)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    samples[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            base = statistics.median(s["seconds"] for s in samples["no_checks"])
            for name, runs in samples.items():
                median = statistics.median(s["seconds"] for s in runs)
                report[f"{file_format}/{name}"] = {
                    "median_s": round(median, 3),
                    "spread_s": [round(min(s["seconds"] for s in runs), 3), round(max(s["seconds"] for s in runs), 3)],
                    "ratio": round(median / base, 3),
                    "checks": runs[0]["checks"],
                    "outcomes": runs[0]["outcomes"],
                    "rows_in": runs[0]["rows_in"],
                }
    for key, value in report.items():
        print(
            f"{key:36} {value['median_s']:8.3f} s  x{value['ratio']:.3f}  {value['checks']} checks {value['outcomes']}"
        )
    return report


if __name__ == "__main__":
    main()
