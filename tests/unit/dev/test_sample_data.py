"""Tests for sample_data.py: the example data is deterministic and well formed, and where the examples write."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from airflow_provider_enterprise.dev.sample_data import (
    CATEGORIES,
    COLUMNS,
    COUNTRIES,
    STATUSES,
    example_output_root,
    generate_transactions,
)


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    first = generate_transactions(tmp_path / "nested" / "a.csv", 50)
    assert first == tmp_path / "nested" / "a.csv"
    assert generate_transactions(tmp_path / "b.csv", 50).read_bytes() == first.read_bytes()
    assert generate_transactions(tmp_path / "c.csv", 50, seed=7).read_bytes() != first.read_bytes()


def test_the_rows_have_the_documented_columns_and_values(tmp_path: Path) -> None:
    with generate_transactions(tmp_path / "t.csv", 200).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert [int(r["transaction_id"]) for r in rows] == list(range(1, 201))
    assert {r["category"] for r in rows} <= set(CATEGORIES)
    assert {r["status"] for r in rows} <= set(STATUSES)
    assert {r["country"] for r in rows} <= set(COUNTRIES)
    assert all(1 <= float(r["amount"]) <= 500 and r["event_time"].startswith("2026-01") for r in rows[:20])


def test_examples_write_under_the_configured_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENTERPRISE_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert example_output_root() == str(tmp_path / "enterprise" / "output")
    monkeypatch.setenv("ENTERPRISE_OUTPUT_DIR", "/data/examples")
    assert example_output_root() == "/data/examples"
