"""
The generic PySpark application that spark-submit runs for a job.

Usage: ``spark-submit [options] main.py (--spec FILE | --spec-json JSON) --run-id ID [--result FILE]``

The spec is validated again here (the driver may run a newer spec than the DAG file saw), the job runs with
:func:`~airflow_provider_enterprise.spark_app.job.run_job`, and the outcome goes to ``--result`` as JSON:
``{"status": "succeeded", "manifest": {...}}`` or ``{"status": "failed", "error_class": ..., "permanent":
..., "message": ...}``, ``permanent`` as :mod:`~airflow_provider_enterprise.resilience.errors` classifies the error,
so the task re-raises the same kind of error. Exit status 0 on success, 1 on a failed job, 2 on bad arguments.
The keys of ``mask`` come in the environment variable ``ENTERPRISE_MASKING_SECRET`` (never an argument).
No Airflow imports: this runs on Spark drivers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from airflow_provider_enterprise.compiler.masking import KEYS_ENV, load_keys
from airflow_provider_enterprise.exceptions import DataQualityError
from airflow_provider_enterprise.resilience.errors import ErrorKind, classify_error
from airflow_provider_enterprise.spark_app import SPARK_AUTH_SECRET_ENV
from airflow_provider_enterprise.spec import validate_job_spec

log = logging.getLogger("airflow_provider_enterprise.spark_app")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="airflow_provider_enterprise.spark_app.main", description=__doc__)
    spec = parser.add_mutually_exclusive_group(required=True)
    spec.add_argument("--spec", type=Path, help="a file holding the job spec as JSON")
    spec.add_argument("--spec-json", help="the job spec as JSON text")
    parser.add_argument("--run-id", required=True, help="identifies this run in the output's manifest")
    parser.add_argument("--result", type=Path, help="where to write the outcome as JSON")
    return parser.parse_args(argv)


def _write_result(path: Path | None, result: dict[str, Any]) -> None:
    if path is None:
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(result, default=str))
    partial.rename(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from pyspark.sql import SparkSession

    # A process that once opened a Spark Connect session leaves these set, and a child spark-submit inherits them;
    # this application always runs on its driver's classic session.
    for name in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE"):
        os.environ.pop(name, None)
    keys = os.environ.pop(KEYS_ENV, None)  # the driver's own children (Python workers) do not need it
    os.environ.pop(SPARK_AUTH_SECRET_ENV, None)  # spark-submit's JVM already holds the Spark secret
    spark = SparkSession.builder.getOrCreate()
    try:
        return report_job(spark, args, keys)
    finally:
        spark.stop()


def report_job(spark: Any, args: argparse.Namespace, keys: str | None = None) -> int:
    """Run the job of ``args`` on ``spark``, write its outcome to ``--result``, return the exit status."""
    try:
        from airflow_provider_enterprise.spark_app.job import run_job

        data = json.loads(args.spec.read_text() if args.spec else args.spec_json)
        manifest = run_job(spark, validate_job_spec(data), run_id=args.run_id, masking_keys=load_keys(keys))
    except Exception as err:
        log.exception("Job failed")
        _write_result(
            args.result,
            {
                "status": "failed",
                "error_class": type(err).__name__,
                "permanent": classify_error(err) is ErrorKind.PERMANENT,
                "message": str(err),
                **({"checks": err.results} if isinstance(err, DataQualityError) else {}),
            },
        )
        return 1
    _write_result(args.result, {"status": "succeeded", "manifest": manifest})
    return 0


if __name__ == "__main__":
    sys.exit(main())
