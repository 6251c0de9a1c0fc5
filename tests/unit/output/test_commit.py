from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.reuse import earlier_tries, run_id
from airflow_provider_enterprise.exceptions import OutputConflictError, OutputNotOwnedError
from airflow_provider_enterprise.output.commit import check_replaceable, is_committed, staged_output
from support.races import commit_at_once, one_winner


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


def test_output_holding_files_no_commit_wrote_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("the user's")
    refused = r"holds 1 file\(s\) no commit of a job wrote there \('notes.txt'\)"
    with pytest.raises(OutputNotOwnedError, match=refused), staged_output(target) as staging:
        (staging / "part-0").write_text("new")
    assert (target / "notes.txt").read_text() == "the user's"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_file_added_to_a_committed_output_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "part-0").write_text("first")
    (target / "sub").mkdir()
    (target / "sub" / "added.csv").write_text("the user's")
    with pytest.raises(OutputNotOwnedError, match="sub/added.csv"):
        check_replaceable(target)
    with pytest.raises(OutputNotOwnedError), staged_output(target) as staging:
        (staging / "part-0").write_text("second")
    assert (target / "sub" / "added.csv").exists()
    assert (target / "part-0").read_text() == "first"


def test_symbolic_links_and_files_as_outputs_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.csv").write_text("1")
    (tmp_path / "link").symlink_to(data)
    (tmp_path / "file.csv").write_text("1")
    with pytest.raises(OutputNotOwnedError, match="symbolic link"):
        check_replaceable(tmp_path / "link")
    with pytest.raises(OutputNotOwnedError, match="is a file no job wrote"):
        check_replaceable(tmp_path / "file.csv")
    assert (data / "keep.csv").read_text() == "1"


def test_empty_directories_and_markers_of_other_committers_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    spark = tmp_path / "spark"
    spark.mkdir()
    (spark / "_SUCCESS").touch()  # Spark's own empty marker
    (spark / "part-0.parquet").write_text("old")
    for target in (tmp_path / "empty", spark):
        with staged_output(target) as staging:
            (staging / "part-1").write_text("new")
        assert sorted(p.name for p in target.iterdir()) == ["_SUCCESS", "part-1"]


def test_success_marker_names_the_published_files(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "a=1").mkdir()
        (staging / "a=1" / "part-0").write_text("x")
        (staging / "._SUCCESS.crc").write_text("stale checksum")
    assert json.loads((target / "_SUCCESS").read_text())["files"] == ["a=1/part-0"]
    check_replaceable(target)


def test_two_writers_at_once_one_wins_whole_the_other_fails_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "part-0").write_text("before")
    for trial in range(15):
        winner = one_winner(commit_at_once(lambda: staged_output(target), files=20), OutputConflictError)
        assert {(target / f"part-{i}.parquet").read_text() for i in range(20)} == {winner}
        assert [p.name for p in tmp_path.iterdir()] == ["out"], trial


def test_readers_never_see_the_output_missing_while_it_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_output(target) as staging:
        (staging / "part-0").write_text("0")
    stop = threading.Event()
    missing = []

    def read() -> None:
        while not stop.is_set():
            if not is_committed(target):
                missing.append(time.monotonic())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(300):
            with staged_output(target) as staging:
                (staging / "part-0").write_text(str(n))
    finally:
        stop.set()
        reader.join()
    assert missing == []
    assert (target / "part-0").read_text() == "299"


def test_a_retry_removes_what_its_killed_earlier_try_was_writing_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "out"
    first = run_id(7, 1)
    writer = subprocess.Popen(  # try 1 of job 7: stages a file, then is SIGKILLed before it commits
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from airflow_provider_enterprise.output.commit import staged_output\n"
            "with staged_output(sys.argv[1], sys.argv[2]) as staging:\n"
            "    (staging / 'part-0').write_text('half')\n"
            "    print(staging, flush=True)\n"
            "    time.sleep(600)\n",
            str(target),
            first,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    left = Path(writer.stdout.readline().strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert left.name.startswith(f".out.staging-{first}-") and (left / "part-0").is_file()
    others = [
        tmp_path / f".out.staging-{run_id(7, 3)}-0123456789ab",  # a later try's (cleared and running again)
        tmp_path / f".out.staging-{run_id(70, 1)}-0123456789ab",  # job 70's, not job 7's
        tmp_path / ".out.staging-0123456789ab",  # a run without a job's name
        tmp_path / f".other.staging-{run_id(7, 1)}-0123456789ab",  # beside another output
    ]
    for other in others:
        other.mkdir()

    second = run_id(7, 2)
    with staged_output(target, second, earlier_tries(second)) as staging:
        assert not left.exists()
        assert staging.name.startswith(f".out.staging-{second}-")
        (staging / "part-0").write_text("whole")

    assert (target / "part-0").read_text() == "whole"
    assert sorted(tmp_path.iterdir()) == sorted([target, *others])
    assert earlier_tries("local-0123456789ab") is None  # a run outside a job's tries removes nothing
    assert earlier_tries(run_id(7, 1)) is None  # a first try has no earlier try to look for
