from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.commit import is_committed, staged_output


def test_output_appears_complete_with_marker(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "part-0").write_text("new")
        assert not target.exists()
    assert is_committed(target)
    assert (target / "part-0").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_keeps_previous_output_and_leaves_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "part-0").write_text("old")
    with pytest.raises(RuntimeError), staged_output(target) as staging:
        (staging / "part-0").write_text("half")
        raise RuntimeError("engine died")
    assert (target / "part-0").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_overwrite_replaces_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out"
    for content in ("first", "second"):
        with staged_output(target) as staging:
            (staging / f"{content}.part").write_text(content)
    assert sorted(p.name for p in target.iterdir()) == ["_SUCCESS", "second.part"]
