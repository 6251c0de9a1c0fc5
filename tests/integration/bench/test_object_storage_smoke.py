"""A seconds-long run of the object-storage benchmark: moto's server in its own process, both candidates, its table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.bench import load_bench

pytestmark = pytest.mark.integration


def test_benchmark_smoke_run_writes_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "object_storage.json"
    load_bench("object_storage").main(["--smoke", "--data-dir", str(tmp_path), "--json", str(out)])
    row = json.loads(out.read_text())["formats"]["parquet"]
    assert row["rows"] == 60_175
    assert row["disk_median_s"] > 0 and row["s3_median_s"] > 0
    assert 0 < row["download_median_s"] < row["s3_median_s"] and row["publish_median_s"] > 0
    assert "s3/disk" in capsys.readouterr().out
