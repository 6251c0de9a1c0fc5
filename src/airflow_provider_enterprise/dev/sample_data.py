"""Deterministic sample transaction data for the example DAG, tests and benchmarks."""

from __future__ import annotations

import csv
import os
import random
from datetime import datetime, timedelta
from pathlib import Path

COLUMNS = ("transaction_id", "event_time", "customer_id", "category", "status", "amount", "country")
CATEGORIES = ("books", "electronics", "grocery", "garden", "toys", "clothing")
STATUSES = ("active", "active", "active", "pending", "cancelled")
COUNTRIES = ("DE", "FR", "US", "GB", "JP", "BR")


def generate_transactions(path: str | Path, rows: int, *, seed: int = 42) -> Path:
    """Write ``rows`` transactions as CSV to ``path`` and return the path."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(1, rows + 1):
            writer.writerow(
                (
                    i,
                    (start + timedelta(seconds=rng.randrange(86_400 * 30))).isoformat(),
                    rng.randrange(1, 2_000),
                    rng.choice(CATEGORIES),
                    rng.choice(STATUSES),
                    f"{rng.uniform(1, 500):.2f}",
                    rng.choice(COUNTRIES),
                )
            )
    return target


def example_output_root() -> str:
    """Where the example DAGs write: ``ENTERPRISE_OUTPUT_DIR``, else ``$AIRFLOW_HOME/enterprise/output``."""
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    return os.environ.get("ENTERPRISE_OUTPUT_DIR", str(home / "enterprise" / "output"))
