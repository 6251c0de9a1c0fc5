"""A seconds-long run of the registry purge benchmark on the session's server: it purges every filled row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.bench import load_bench

pytestmark = pytest.mark.integration


def test_benchmark_smoke_run_purges_the_filled_attempts_beside_writers(
    fresh_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench("registry_purge")
    out = tmp_path / "purge.json"

    bench.main(["--smoke", "--database-url", fresh_database, "--json", str(out)])

    results = json.loads(out.read_text())
    assert results["fill"]["attempts"] == 20_000
    purge = results["purge"]
    assert purge["rows"] == {
        "enterprise_dead_letters": 0,
        "enterprise_jobs": 10_000,
        "enterprise_job_attempts": 20_000,
        "enterprise_event_messages": 0,
    }
    assert purge["attempts_per_s"] > 0
    for phase in ("writers_without_purge", "writers_during_purge"):
        writers = results[phase]
        assert writers["writers"] == 2
        assert writers["transitions"] > 0
        assert 0 < writers["p50_ms"] <= writers["p99_ms"] <= writers["max_ms"]
    assert "during purge" in capsys.readouterr().out
