"""Two writers of one output at once, for the commit tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path


def commit_at_once(
    stage: Callable[[], AbstractContextManager[Path]], files: int = 5
) -> dict[str, BaseException | None]:
    """
    Run two writers ``a`` and ``b`` of one output in threads, each staging ``files`` files holding its name and
    both staged before either commits; return each writer's error (None when it committed).
    """
    both_staged = threading.Barrier(2)
    outcomes: dict[str, BaseException | None] = {}

    def write(name: str) -> None:
        try:
            with stage() as staging:
                for i in range(files):
                    (staging / f"part-{i}.parquet").write_text(name)
                both_staged.wait(timeout=30)
            outcomes[name] = None
        except BaseException as err:  # noqa: BLE001 - the outcome under test
            outcomes[name] = err

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def one_winner(outcomes: dict[str, BaseException | None], error: type[BaseException]) -> str:
    """Assert that one writer committed and the other failed with ``error``; return the winner's name."""
    failed = {name: err for name, err in outcomes.items() if err is not None}
    assert len(failed) == 1, outcomes
    ((loser, raised),) = failed.items()
    assert isinstance(raised, error), raised
    return "b" if loser == "a" else "a"
