"""
Explore "same spec, same rows on every engine" far beyond CI: the property test's strategies with random seeds.

    .venv/bin/python bench/explore_equivalence.py --seeds 5 --examples 2000

CI runs a fixed, derandomized set of examples (``tests/integration/spark/test_equivalence.py``); this runs new ones:
each seed explores ``--examples`` examples with Hypothesis' example database kept in ``--database`` (a failure
found once is tried first on the next run) and shrinks every failure it finds. Each distinct failure is written to
``tests/integration/spark/equivalence_regressions.json`` as a pinned example (``--pin``), which CI then runs on
every commit; fix the engines, then keep the example. Prints a table per seed and the totals.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration" / "spark")]


COLUMNS = ("seed", "examples", "non-empty", "empty", "errors", "refused", "failures", "s")
WIDTHS = (12, 9, 9, 6, 6, 7, 8, 6)


def spark_session():
    """A local[2] session like the test suite's (ANSI settings of the Spark application)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from pyspark.sql import SparkSession

    from airflow_provider_enterprise.compiler.spark import SESSION_CONF

    builder = SparkSession.builder.master("local[2]").appName("explore-equivalence")
    for key, value in {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", **SESSION_CONF}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF")
    return session


def explore(spark, seed: int, examples: int, database: Path) -> tuple[Counter, dict[str, dict]]:
    """Run ``examples`` examples from ``seed``; return what was compared and the smallest failure of each kind."""
    import test_equivalence as eq
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    counts: Counter = Counter()
    failures: dict[str, dict] = {}

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=DirectoryBasedExampleDatabase(str(database)),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )
    @given(rows=eq.main_rows, other=eq.other_rows, transformations=eq.specs)
    def same_rows(rows, other, transformations) -> None:
        try:
            counts[eq.compare_engines(spark, transformations, rows, other)] += 1
        except AssertionError as error:
            kind = str(error).splitlines()[0][:80]
            case = {
                "found": f"seed-{seed}",
                "why": str(error).splitlines()[0][:300],
                "transformations": transformations,
                "main": [[eq.encode(v) for v in row] for row in rows],
                "other": [[eq.encode(v) for v in row] for row in other],
            }
            smallest = failures.get(kind)
            if smallest is None or len(json.dumps(case)) < len(json.dumps(smallest)):
                failures[kind] = case  # Hypothesis shrinks: the last, smallest failing example of each kind
            raise

    try:
        same_rows()
    except Exception as error:  # noqa: BLE001 - a failure (or a group of them) is the result
        counts["failures reported"] += len(getattr(error, "exceptions", [error]))
    return counts, failures


def pin(failures: list[dict]) -> int:
    """Add failures whose transformations and rows are not pinned yet; return how many were added."""
    import test_equivalence as eq

    cases = eq.pinned()
    known = {json.dumps([c["transformations"], c["main"], c["other"]], sort_keys=True) for c in cases}
    added = 0
    for case in failures:
        key = json.dumps([case["transformations"], case["main"], case["other"]], sort_keys=True)
        if key not in known:
            cases.append({**case, "compared": "non-empty"})  # what it must compare as once fixed: check by hand
            known.add(key)
            added += 1
    eq.REGRESSIONS.write_text(json.dumps(cases, indent=2, ensure_ascii=False) + "\n")
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="how many random seeds")
    parser.add_argument("--first-seed", type=int, default=int(time.time()))
    parser.add_argument("--examples", type=int, default=2000, help="examples per seed")
    parser.add_argument("--database", type=Path, default=ROOT / ".hypothesis" / "equivalence")
    parser.add_argument("--pin", action="store_true", help="add new failures to the pinned regression examples")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    spark = spark_session()
    rows, found = [], []
    print(" ".join(f"{name:>{width}}" for name, width in zip(COLUMNS, WIDTHS, strict=True)))
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.monotonic()
        counts, failures = explore(spark, seed, args.examples, args.database)
        errors = sum(n for kind, n in counts.items() if kind.startswith("error"))
        row = {
            "seed": seed,
            "examples": sum(n for kind, n in counts.items() if kind != "failures reported"),
            "non_empty": counts["non-empty"],
            "empty": counts["empty"],
            "errors": errors,
            "refused": counts["refused"],
            "failures": len(failures),
            "seconds": round(time.monotonic() - started, 1),
        }
        rows.append(row)
        found.extend(failures.values())
        print(" ".join(f"{value:>{width}}" for value, width in zip(row.values(), WIDTHS, strict=True)))
        for case in failures.values():
            print(f"    failure: {case['why']}\n      {json.dumps(case['transformations'])}")
    totals = {key: sum(r[key] for r in rows) for key in ("examples", "non_empty", "errors", "refused", "failures")}
    print(f"total: {totals}")
    if args.pin and found:
        print(f"pinned {pin(found)} new examples in tests/integration/spark/equivalence_regressions.json")
    if args.json:
        args.json.write_text(json.dumps({"seeds": rows, "totals": totals}, indent=2) + "\n")
    spark.stop()
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
