"""The docs site (mkdocs.yml) builds offline in strict mode: a broken link, anchor or API reference fails it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.env import REPO


def test_the_docs_site_builds_with_its_api_pages_plots_and_search(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    api = (site / "api" / "index.html").read_text()
    assert "EnterpriseDataProcessingOperator" in api and "processing_logic" in api  # rendered from docstrings
    benchmarks = (site / "benchmarks" / "index.html").read_text()
    plots = [line for line in benchmarks.split('src="')[1:] if line.startswith("../images/")]
    assert plots and all((site / "benchmarks" / plot.split('"')[0]).resolve().exists() for plot in plots)
    index = json.loads((site / "search" / "search_index.json").read_text())
    assert any("on_bad_rows" in doc["text"] for doc in index["docs"])
