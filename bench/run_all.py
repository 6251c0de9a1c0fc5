"""
Every benchmark of docs/benchmarks.md, one after another (never two at once: they share two cores), then the plots.

    .venv/bin/python bench/run_all.py            # the published figures: about 3 hours, most of it TPC-H at scale 12
    .venv/bin/python bench/run_all.py --smoke    # each benchmark's seconds-long version, results in a scratch dir

Each benchmark is a child process writing its JSON into ``docs/bench/`` (``--smoke``: into ``--out``, default a
temporary directory); a failing one is reported and the others still run. The exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH.parent / "docs" / "bench"

#: name -> (full arguments, smoke arguments); each also gets ``--json <dir>/<name>.json``.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "tpch_q1_sf1": (
        ["tpch_q1.py", "--scale", "1", "--runs", "5", "--task-time"],
        ["tpch_q1.py", "--scale", "0.01", "--runs", "1"],
    ),
    "tpch_q1_sf12": (["tpch_q1.py", "--scale", "12", "--runs", "5"], []),
    "tpch_q1_spark_sf1": (["tpch_q1.py", "--engine", "spark", "--scale", "1", "--runs", "5"], []),
    "object_storage_sf1": (["object_storage.py", "--scale", "1", "--runs", "3"], ["object_storage.py", "--smoke"]),
    "orchestration_overhead": (["orchestration_overhead.py", "--runs", "10"], ["orchestration_overhead.py", "--smoke"]),
    "registry_throughput": (["registry_throughput.py"], ["registry_throughput.py", "--smoke"]),
    "registry_purge": (["registry_purge.py"], ["registry_purge.py", "--smoke"]),
    "deferred_waits": (
        ["deferred_waits.py", "--waits", "1000", "--poll-interval", "5"],
        ["deferred_waits.py", "--smoke"],
    ),
    "event_burst": (["event_burst.py", "--messages", "1000", "--resends", "100"], ["event_burst.py", "--smoke"]),
    "typed_readers": (["typed_readers.py"], ["typed_readers.py"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the seconds-long versions (benchmarks without one skip)")
    parser.add_argument("--out", type=Path, default=None, help="where the JSON goes (default: docs/bench/)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.mkdtemp(prefix="ape-bench-smoke-")) if args.smoke else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    failed, took = [], {}
    for name in args.only or BENCHMARKS:
        full, smoke = BENCHMARKS[name]
        command = smoke if args.smoke else full
        if not command:
            print(f"::: {name}: no smoke version, skipped")
            continue
        started = time.monotonic()
        print(f"::: {name}: {' '.join(command)}", flush=True)
        done = subprocess.run(
            [sys.executable, str(BENCH / command[0]), *command[1:], "--json", str(out / f"{name}.json")]
        )
        took[name] = time.monotonic() - started
        if done.returncode != 0:
            failed.append(name)
    if not args.smoke:
        subprocess.run([sys.executable, str(BENCH / "plots.py")], check=False)
    for name, seconds in took.items():
        print(f"::: {name:24} {seconds:7.0f} s {'FAILED' if name in failed else 'ok'}")
    print(f"::: results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
