"""
How often a job's expressions are parsed (once per process) and its inputs listed (once per run): issue #33's
measure.

The counters patch sqlglot's parser and tokenizer entry points and fsspec's listing calls, so any new code path
that parses an expression or walks an input again shows up here.
"""

from __future__ import annotations

import collections
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer

from airflow_provider_enterprise.expressions import _parsed
from airflow_provider_enterprise.spec.models import InputSpec
from support.env import EXAMPLE_DAGS, load_test_dags
from support.jobs import job_of

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
EXPRESSIONS = ("status = 'active'", "sum(amount)", "count(*)")


@contextmanager
def counted_parses() -> Iterator[collections.Counter]:
    """Count parses and tokenisations by the text parsed."""
    counts: collections.Counter = collections.Counter()
    parse, tokenize = Parser.parse, Tokenizer.tokenize

    def counting_parse(self, raw_tokens, sql=None):
        counts["parse", sql] += 1
        return parse(self, raw_tokens, sql)

    def counting_tokenize(self, sql):
        counts["tokenize", sql] += 1
        return tokenize(self, sql)

    Parser.parse, Tokenizer.tokenize = counting_parse, counting_tokenize
    try:
        yield counts
    finally:
        Parser.parse, Tokenizer.tokenize = parse, tokenize


def test_a_local_run_parses_each_expression_once(dags, registry, tmp_path: Path) -> None:
    _parsed.cache_clear()
    with counted_parses() as counts:
        module = load_test_dags()  # the DAG file, as the DAG processor and then the worker parse it
        dag_run = module.processing.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path / "out")})
    assert dag_run.state == "success"
    assert job_of(registry, dag_run)["status"] == "succeeded"
    for text in EXPRESSIONS:
        # the DAG file holds several jobs with these expressions: still one parse, one tokenisation in the process
        assert (counts["parse", text], counts["tokenize", text]) == (1, 1), text


def walks_of_one_run(dags, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """Run the test DAG on a directory input; return the run's state and how often the directory was walked."""
    source = tmp_path / "in"
    source.mkdir(parents=True)
    shutil.copy(SAMPLE, source / "part-0.csv")
    walks: collections.Counter = collections.Counter()
    walk = os.walk

    def counting_walk(top, *args, **kwargs):
        walks[str(top)] += 1
        return walk(top, *args, **kwargs)

    monkeypatch.setattr(os, "walk", counting_walk)
    dag_run = dags.processing.test(run_conf={"input_path": str(source), "output_path": str(tmp_path / "out")})
    return dag_run.state, walks[str(source)]


def test_a_run_lists_its_input_directory_once(dags, registry, tmp_path: Path, monkeypatch) -> None:
    assert walks_of_one_run(dags, tmp_path / "cached", monkeypatch) == ("success", 1)
    # the same run listing on every call, as before the listing was kept: the count above could fail
    monkeypatch.setattr(InputSpec, "files", InputSpec._list_files)
    state, walks = walks_of_one_run(dags, tmp_path / "uncached", monkeypatch)
    assert state == "success" and walks > 1
