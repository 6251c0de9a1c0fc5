"""Listing filters: every filter a listing names is a parameter (given or None); an unknown one is refused."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.ops.audit import AuditFilters
from airflow_provider_enterprise.registry.queries import filter_params, listing_params


def test_every_filter_is_a_parameter_and_dag_ids_are_sorted() -> None:
    assert listing_params(dag_ids={"b", "a"}, status="open") == {
        "dag_id": None,
        "status": "open",
        "dag_ids": ["a", "b"],
        "run_id": None,
    }
    assert filter_params({"path": "/data"}, AuditFilters)["path"] == "/data"
    assert set(filter_params({}, AuditFilters)) == {"path", "user", "dag_id", "dag_ids", "run_id", "outcome"}


def test_an_unknown_filter_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="unknown filters: colour"):
        listing_params(colour="red")
    with pytest.raises(TypeError, match="unknown filters: status"):
        filter_params({"status": "ok"}, AuditFilters)
