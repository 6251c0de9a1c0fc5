"""The local engine as the ``engines.local`` section describes it (what the processing operator runs)."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.engines.local import LocalEngine


def _engine(tmp_path: Path, section: str) -> LocalEngine:
    config = tmp_path / "enterprise.yaml"
    config.write_text(f"engines:\n  local:\n{section}")
    settings = load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)
    return LocalEngine.from_settings(settings.engines.local)


def test_the_section_reaches_duckdb(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "    max_workers: 3\n    memory_limit: 1GB\n")
    con = engine._connect()
    try:
        threads, memory = con.execute("SELECT current_setting('threads'), current_setting('memory_limit')").fetchone()
    finally:
        con.close()
    assert (threads, memory) == (3, "953.6 MiB")  # 1 GB in DuckDB's units


def test_the_csv_proof_setting_reaches_the_engine(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"a\n" + b"1\n" * 600_000)  # 1.2 MB
    proving = _engine(tmp_path, "    csv_proof_min_bytes: 1000000\n")
    assert proving.proof_min_bytes == 1_000_000
    assert proving._worth_proving([str(big)])
    off = _engine(tmp_path, "    csv_proof_min_bytes: null\n")
    assert off.proof_min_bytes is None
    assert not off._worth_proving([str(big)])
