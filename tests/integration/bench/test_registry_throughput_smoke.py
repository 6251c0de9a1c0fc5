"""A seconds-long run of the registry throughput benchmark on the session's server: it runs and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.bench import load_bench

pytestmark = pytest.mark.integration


def test_benchmark_smoke_run_counts_every_transition_and_submission(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench("registry_throughput")
    out = tmp_path / "registry.json"

    bench.main(["--smoke", "--database-url", fresh_database, "--json", str(out)])

    results = json.loads(out.read_text())
    assert [row["writers"] for row in results["writers"]] == [1, 2]
    for row in results["writers"]:
        assert row["transitions"] == 3 * row["jobs"] > 0
        assert row["transitions_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert set(row["calls"]) == {"register_attempt", "heartbeat", "complete_attempt", "fail_attempt"}
    submissions = results["submissions"]
    assert submissions["submissions"] == submissions["jobs"] == 50
    assert submissions["sent"] == 55  # every tenth twice
    assert submissions["lost"] == submissions["duplicated"] == 0
    assert submissions["transitions_per_s"] > 0
    assert results["database"]["embedded"] is False
    assert "target met?" in capsys.readouterr().out
