"""
How often a job's expressions are parsed and its inputs listed: once each per process (issue #33's measure).

The counters patch sqlglot's parser and tokenizer entry points and fsspec's listing calls, so any new code path
that parses an expression or walks an input again shows up here.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer

from airflow_provider_enterprise.expressions import _parsed
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
