"""What a Spark target says about itself without a cluster: its cores in local mode, a log-safe URL."""

from __future__ import annotations

import os

import pytest

from airflow_provider_enterprise.engines.spark import SparkTarget


@pytest.mark.parametrize(
    ("master", "cores"), [("local", os.cpu_count()), ("local[*]", os.cpu_count()), ("local[5]", 5), ("local[3,2]", 3)]
)
def test_local_masters_report_their_threads(master: str, cores: int) -> None:
    assert SparkTarget(master).cores() == cores


def test_an_unknown_cluster_reports_no_cores() -> None:
    assert SparkTarget("yarn").cores() is None


def test_a_connect_url_is_shown_without_its_token() -> None:
    target = SparkTarget("sc://spark.example:15002/;token=s3cret;user_id=me")
    assert target.is_connect and target.display == "sc://spark.example:15002"
