"""
A job never deletes, replaces or reads back data it did not write, however its templated paths are spelled
(DESIGN.md section 7): the rendered paths are compared after resolution, and the output's contents are checked
before anything is replaced. Each refusal is permanent: one try, one dead letter, the data as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support.env import EXAMPLE_DAGS
from support.jobs import dead_letters_of, job_of

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "w"
    (data / "d").mkdir(parents=True)
    shutil.copy(SAMPLE, data / "d" / "a.csv")
    (data / "p").mkdir()
    shutil.copy(SAMPLE, data / "p" / "a.csv")
    (data / "p" / "notes.txt").write_text("unrelated, not the job's")
    os.symlink(data / "d", data / "link")
    (data / "e").mkdir()
    os.symlink(data / "e", data / "elink")
    return data


@pytest.mark.parametrize(
    ("input_path", "output_path", "error_class", "message"),
    [
        ("d/", "d", "InvalidJobSpec", "output_path '{w}/d' is input 'input' ('{w}/d/')"),
        ("p/a.csv", "p", "InvalidJobSpec", "output_path '{w}/p' contains input 'input'"),
        ("link", "d", "InvalidJobSpec", "output_path '{w}/d' is input 'input' ('{w}/link')"),
        ("d", "d/out", "InvalidJobSpec", "output_path '{w}/d/out' lies inside input 'input'"),
        (
            "d/a.csv",
            "p",
            "OutputNotOwnedError",
            "holds 2 file(s) no commit of a job wrote there ('a.csv', 'notes.txt')",
        ),
        ("d/a.csv", "link", "InvalidJobSpec", "output_path '{w}/link' contains input 'input'"),
        ("d/a.csv", "elink", "OutputNotOwnedError", "is a symbolic link"),
    ],
)
def test_templated_paths_that_would_touch_data_the_job_did_not_write_are_refused(
    dags, registry, data_dir: Path, input_path: str, output_path: str, error_class: str, message: str
) -> None:
    before = snapshot(data_dir)
    dag_run = dags.processing.test(
        run_conf={"input_path": f"{data_dir}/{input_path}", "output_path": f"{data_dir}/{output_path}"}
    )
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # permanent: the default policy's retries burn none
    assert attempt["error_class"] == error_class
    assert message.format(w=data_dir) in attempt["error_message"]
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert letter["error_class"] == error_class
    assert snapshot(data_dir) == before
    assert sorted(p.name for p in data_dir.iterdir()) == ["d", "e", "elink", "link", "p"]
