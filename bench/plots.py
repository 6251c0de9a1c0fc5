"""
The plots of docs/benchmarks.md, drawn from the benchmarks' JSON in docs/bench/ into docs/images/.

    .venv/bin/python bench/plots.py

A plot whose JSON is missing is skipped (and named).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "bench"
IMAGES = REPO / "docs" / "images"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        print(f"skipped: {path} is missing", file=sys.stderr)
        return None
    return json.loads(path.read_text())


def _save(fig, name: str) -> Path:
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"bench-{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(REPO)}")
    return path


def tpch_q1(name: str = "tpch_q1_sf12", image: str = "tpch-q1-sf12") -> None:
    data = _load(name)
    if data is None:
        return
    fig, axes = plt.subplots(1, len(data["formats"]), figsize=(9, 3.6), squeeze=False)
    bars = {  # candidate: (label, colour)
        "engine": ("our engine", "#d95f02"),
        "engine_one_scan": ("our engine, one scan", "#e7298a"),
        "task": ("Airflow task", "#e6ab02"),
        "duckdb": ("DuckDB SQL", "#7570b3"),
        "polars": ("Polars", "#1b9e77"),
    }
    for ax, (file_format, summary) in zip(axes[0], data["formats"].items(), strict=True):
        names = [c for c in bars if c in summary]
        medians = [summary[c]["median_s"] for c in names]
        errors = [
            [m - summary[c]["min_s"] for c, m in zip(names, medians, strict=True)],
            [summary[c]["max_s"] - m for c, m in zip(names, medians, strict=True)],
        ]
        ax.bar([bars[c][0] for c in names], medians, yerr=errors, capsize=4, color=[bars[c][1] for c in names])
        ax.set_title(f"{file_format.upper()}, {summary['engine']['rows']:,} rows")
        ax.set_ylabel("s (median, min-max)")
    fig.suptitle(f"TPC-H Q1 at scale {data['scale']:g}, {data['cpus']} CPUs")
    _save(fig, image)


def registry() -> None:
    data = _load("registry_throughput")
    if data is None:
        return
    rows = data["writers"]
    writers = [r["writers"] for r in rows]
    fig, left = plt.subplots(figsize=(6.5, 3.6))
    left.bar([str(w) for w in writers], [r["transitions_per_s"] for r in rows], color="#7570b3")
    left.axhline(data["targets"]["transitions_per_s"], color="#7570b3", linestyle=":", label="target rate")
    left.set_xlabel("concurrent writers")
    left.set_ylabel("transitions/s")
    right = left.twinx()
    right.plot([str(w) for w in writers], [r["p99_ms"] for r in rows], "o-", color="#d95f02", label="p99 latency")
    right.axhline(data["targets"]["p99_ms"], color="#d95f02", linestyle="--", label="p99 target")
    right.set_ylabel("p99 latency, ms")
    handles = [*left.get_legend_handles_labels()[0], *right.get_legend_handles_labels()[0]]
    left.legend(handles=handles, loc="upper left", fontsize=8)
    left.set_title("Registry state transitions against PostgreSQL")
    _save(fig, "registry")


def deferred_waits() -> None:
    data = _load("deferred_waits")
    if data is None:
        return
    kinds = [k for k in ("registry", "timer") if k in data]
    if not kinds:
        print("skipped: docs/bench/deferred_waits.json holds no run of either kind", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    marks = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
    width = 0.8 / len(kinds)
    labels = {"registry": "registry waits (ours)", "timer": "Airflow's own timers"}
    for n, kind in enumerate(kinds):
        values = [data[kind]["resume_latency"][m] / 1000 for m in marks]
        ax.bar([i + n * width for i in range(len(marks))], values, width, label=labels[kind])
    poll = data[kinds[0]]["poll_interval_s"]
    ax.axhline(2 * poll, color="black", linestyle="--", label=f"target: 2x poll ({2 * poll:g} s)")
    ax.set_xticks([i + width * (len(kinds) - 1) / 2 for i in range(len(marks))], ["p50", "p95", "p99", "max"])
    ax.set_ylabel("resume latency, s")
    ax.set_title(f"{data[kinds[0]]['waits']:,} deferred waits in one triggerer")
    ax.legend(fontsize=8)
    _save(fig, "deferred-waits")


def orchestration() -> None:
    data = _load("orchestration_overhead")
    if data is None:
        return
    parts = {k: v for k, v in data["overhead"]["components_ms"].items() if v > 0.5}
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.barh(list(parts), list(parts.values()), color="#1b9e77")
    ax.set_xlabel("ms per task over a bare PythonOperator")
    ax.set_title(f"Orchestration overhead: {data['overhead']['total_ms']:.0f} ms per task")
    _save(fig, "orchestration")


def main() -> None:
    tpch_q1()
    tpch_q1("tpch_q1_sf12_csv", "tpch-q1-sf12-csv")
    registry()
    deferred_waits()
    orchestration()


if __name__ == "__main__":
    main()
