"""A seconds-long run of the equivalence explorer, in its own process (it makes a SparkSession of its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "explore_equivalence.py"


def test_a_seeded_exploration_counts_its_comparisons(tmp_path: Path) -> None:
    out, database = tmp_path / "explore.json", tmp_path / "db"
    args = ["--seeds", "1", "--first-seed", "7", "--examples", "25", "--database", str(database), "--json", str(out)]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (seed,) = json.loads(out.read_text())["seeds"]
    assert seed["seed"] == 7 and seed["failures"] == 0
    assert seed["examples"] >= 25 and seed["non_empty"] > 0
    assert "non-empty" in done.stdout and "total:" in done.stdout
