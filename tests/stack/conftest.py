"""Fixtures the stack tests share."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

#: Rows of :func:`slow_transactions`: enough that a local job on it runs for seconds while a test kills or cancels it.
SLOW_ROWS = 30_000_000


@pytest.fixture(scope="session")
def slow_transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    A Parquet file of the example DAG's transactions (random amounts, so it does not compress away), large enough
    that a job on it is still running when a test kills or cancels it. Written once: it takes seconds, and the jobs
    only read it.
    """
    path = tmp_path_factory.mktemp("slow-input") / "transactions.parquet"
    duckdb.sql(
        "COPY (SELECT range AS transaction_id, 'active' AS status, 'books' AS category, 'DE' AS country,"
        f" range % 5000 AS customer_id, random() * 100 AS amount FROM range({SLOW_ROWS})) TO '{path}' (FORMAT parquet)"
    )
    return path
