"""A one-run smoke of the orchestration-overhead benchmark: each variant runs as an Airflow task and is timed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from airflow_provider_enterprise.dev.embedded_db import EmbeddedServer
from support.env import REPO

pytestmark = pytest.mark.integration


def test_benchmark_smoke_run_times_every_variant(
    pg_server: EmbeddedServer,
    embedded_airflow_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the session's server: `enterprise-orchestrator db start` reuses it for Airflow's database (already migrated:
    # the benchmark's `airflow db migrate` has nothing to do, as on every run after a deployment's first) and the
    # registry
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__EMBEDDED_DB_DIR", str(pg_server.data_dir))
    path = REPO / "bench" / "orchestration_overhead.py"
    spec = importlib.util.spec_from_file_location(path.stem, path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "overhead.json"

    bench.main(["--smoke", "--json", str(out)])

    results = json.loads(out.read_text())
    variants = results["variants"]
    assert set(variants) == {"python", "local", "auto"}
    for row in variants.values():
        assert row["runs"] == 1
        assert 0 < row["min_ms"] <= row["median_ms"] <= row["max_ms"]
        assert row["components_median_ms"]["engine"] > 0
    for ours in ("local", "auto"):
        assert variants[ours]["attempt"]["median_ms"] > 0
        assert variants[ours]["components_median_ms"]["registry"] > 0
        assert variants[ours]["metrics_sent"] > 0  # StatsD on: the operator's metrics reached the benchmark's socket
        assert variants[ours]["engines"] == ["local"]
        assert variants[ours]["components_median_ms"]["engine_selection"] > 0  # the DAG file times select_engine
    assert variants["auto"]["routing"]["engine"] == "local"
    assert "annotate_attempt" in variants["auto"]["registry_calls_median_ms"]  # the routing decision, recorded
    assert "Overhead of the operator over a bare PythonOperator" in capsys.readouterr().out
