"""Tests for output/checkpoints.py: which stage a retry resumes after, and what invalidates a checkpoint."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_enterprise.output.checkpoints import StageCheckpoints
from airflow_provider_enterprise.output.commit import SUCCESS_MARKER
from airflow_provider_enterprise.spec import validate_job_spec

STEPS = [
    {"type": "filter", "condition": "amount > 0"},
    {"type": "derive", "column": "double_amount", "expression": "amount * 2"},
    {"type": "select", "columns": ["id", "double_amount"]},
]


def checkpoints(tmp_path: Path, *steps: dict, input_name: str = "in.csv") -> StageCheckpoints:
    spec = validate_job_spec(
        {
            "job_name": "staged",
            "input_path": str(tmp_path / input_name),
            "output_path": str(tmp_path / "out"),
            "processing_logic": {"transformations": list(steps or STEPS), "checkpoint": True},
        }
    )
    return StageCheckpoints(spec)


def commit(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "part-0.parquet").write_bytes(b"rows")
    (path / SUCCESS_MARKER).touch()


def test_checkpoints_live_beside_the_output_named_by_stage_and_fingerprint(tmp_path: Path) -> None:
    stages = checkpoints(tmp_path)
    assert stages.root == tmp_path / ".out.checkpoints"
    assert stages.path(1).name == f"stage-001-{stages.fingerprint(1)}"
    assert len({stages.fingerprint(i) for i in range(3)}) == 3


def test_a_stage_fingerprint_depends_on_the_input_and_the_steps_up_to_it(tmp_path: Path) -> None:
    stages = checkpoints(tmp_path)
    changed_last = checkpoints(tmp_path, *STEPS[:2], {"type": "select", "columns": ["id"]})
    assert [changed_last.fingerprint(i) for i in (0, 1)] == [stages.fingerprint(i) for i in (0, 1)]
    assert changed_last.fingerprint(2) != stages.fingerprint(2)
    other_input = checkpoints(tmp_path, input_name="other.csv")
    assert other_input.fingerprint(0) != stages.fingerprint(0)


def test_a_retry_resumes_after_the_last_committed_current_stage(tmp_path: Path) -> None:
    stages = checkpoints(tmp_path)
    assert stages.last_committed() is None
    commit(stages.path(0))
    commit(stages.path(1))
    stages.path(2).mkdir()  # half written: no _SUCCESS
    assert stages.last_committed() == 1
    # an edit of the second step makes its checkpoint stale; the first still holds
    edited = checkpoints(tmp_path, STEPS[0], {**STEPS[1], "expression": "amount * 3"}, STEPS[2])
    assert edited.last_committed() == 0
    stages.remove()
    assert not stages.root.exists()
    stages.remove()  # removing twice is fine
