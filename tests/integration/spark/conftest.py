"""One local[2] SparkSession for the whole test session (start-up costs ~9 s here)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from airflow_provider_enterprise.compiler.spark import SESSION_CONF


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # py4j logs at INFO from an atexit hook, after pytest has closed the captured streams
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("airflow-provider-enterprise-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
    )
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
