"""The typed-reader comparison behind docs/benchmarks.md ("No typed reader can be the proof") still finds what the
page says: no reader accepts exactly the rules' spellings of a number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.bench import load_bench

pytestmark = pytest.mark.integration


def test_the_rules_are_judged_by_their_own_expression() -> None:
    judge = load_bench("typed_readers").rules()
    assert judge("int", "+5") == 5
    assert judge("int", " 5") is None
    assert judge("date", "2026-02-30") is None
    assert str(judge("decimal(15,2)", ".5")) == "0.50"


def test_no_reader_accepts_exactly_the_rules_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "typed_readers.json"

    load_bench("typed_readers").main(["--json", str(out)])

    results = json.loads(out.read_text())
    readers = results["readers"]
    assert set(readers) == {"duckdb", "polars", "arrow"}
    numbers = ("int", "bigint", "decimal(15,2)", "double")
    assert not [pair for pair in results["exact"] if pair.split(":")[1] in numbers]
    for reader in readers.values():  # each accepts a padded number the rules call bad
        assert all(" 5" in {text for text, _ in reader[type_name]["reader_only"]} for type_name in numbers)
    assert ["12.5", "13"] in readers["duckdb"]["int"]["reader_only"]  # rounded into an int
    assert "reader and type pairs whose acceptance equals the rules'" in capsys.readouterr().out
