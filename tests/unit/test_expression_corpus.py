"""The hostile corpus is refused, the valid corpus accepted (see expression_corpus.py)."""

from __future__ import annotations

import pytest
from expression_corpus import HOSTILE, VALID_AGGREGATE, VALID_SCALAR

from airflow_provider_enterprise.expressions import ExpressionError, ExpressionKind, parse_expression, to_sql

HOSTILE_CASES = [(category, text) for category, texts in HOSTILE.items() for text in texts]
#: Every hostile text in both contexts, except aggregates inside an aggregation (what aggregations are for).
REFUSAL_CASES = [
    (category, text, kind)
    for category, text in HOSTILE_CASES
    for kind in ExpressionKind
    if not (category == "aggregates and windows outside a groupby" and kind is ExpressionKind.AGGREGATE)
]


def test_corpus_sizes() -> None:
    assert len(HOSTILE_CASES) >= 200
    assert all(len(texts) >= 10 for texts in HOSTILE.values())
    assert len(VALID_SCALAR) + len(VALID_AGGREGATE) >= 100


@pytest.mark.parametrize(
    ("category", "text", "kind"), REFUSAL_CASES, ids=[f"{k.value} {c}: {t!r}" for c, t, k in REFUSAL_CASES]
)
def test_hostile_expressions_are_refused(category: str, text: str, kind: ExpressionKind) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text, kind)


@pytest.mark.parametrize("text", VALID_SCALAR)
def test_valid_scalar_expressions_are_accepted(text: str) -> None:
    tree = parse_expression(text, ExpressionKind.SCALAR)
    for dialect in ("duckdb", "spark"):
        assert to_sql(tree, dialect)


@pytest.mark.parametrize("text", VALID_AGGREGATE)
def test_valid_aggregations_are_accepted(text: str) -> None:
    tree = parse_expression(text, ExpressionKind.AGGREGATE)
    for dialect in ("duckdb", "spark"):
        assert to_sql(tree, dialect)
