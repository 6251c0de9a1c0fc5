"""The run-time values a task gives its checks: the run's times and the last successful run's counts."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_provider_enterprise.check_results import needs_previous_counts, with_run_values
from airflow_provider_enterprise.spec import validate_job_spec

END = datetime(2026, 3, 14, tzinfo=UTC)
AFTER = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)


def spec_with(*checks: dict):
    return validate_job_spec(
        {"job_name": "j", "input_path": "/in.csv", "output_path": "/out", "processing_logic": {"checks": list(checks)}}
    )


def test_freshness_is_measured_from_the_time_it_names_unless_the_spec_set_one() -> None:
    spec = spec_with(
        {"type": "freshness", "column": "t", "max_age": 60},
        {"type": "freshness", "column": "t", "max_age": 60, "against": "run_after", "name": "by_run_after"},
        {"type": "freshness", "column": "t", "max_age": 60, "reference": "2026-01-01T00:00:00Z", "name": "fixed"},
    )
    filled = with_run_values(spec, times={"data_interval_end": END, "run_after": AFTER}, previous=None)
    assert [c.reference for c in filled.processing_logic.checks] == [END, AFTER, datetime(2026, 1, 1, tzinfo=UTC)]
    assert not needs_previous_counts(spec)


def test_row_count_changes_compare_with_the_previous_count_of_their_relation() -> None:
    spec = spec_with(
        {"type": "row_count", "max_change_pct": 10},
        {"type": "row_count", "max_change_pct": 10, "input": "input"},
        {"type": "row_count", "max_change_pct": 10, "input": "input", "name": "input_rows_again"},
        {"type": "row_count", "min": 1, "name": "bounds_only"},
    )
    assert needs_previous_counts(spec)
    previous = {"output": 40, "input:input": 100}
    filled = with_run_values(spec, times={"data_interval_end": END, "run_after": AFTER}, previous=previous)
    assert [c.previous for c in filled.processing_logic.checks] == [40, 100, 100, None]
    unfilled = with_run_values(spec, times={"data_interval_end": END, "run_after": AFTER}, previous=None)
    assert [c.previous for c in unfilled.processing_logic.checks] == [None] * 4
