"""
Example custom PySpark application: revenue of active transactions per category and country.

Copy it as a starting point for your own applications and run it with ``EnterpriseSparkSubmitOperator``
(see ``dags/enterprise_spark_application.py``), or by hand::

    spark-submit spark_jobs/revenue_by_category.py --input dags/data/transactions.csv --output /tmp/revenue

It writes Parquet to a staging directory beside ``--output`` and renames it into place when complete, so a
failed or killed run never leaves a partial output behind, and prints one JSON line with its row counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--input", required=True, help="CSV file or directory of transactions (with a header)")
    parser.add_argument("--output", required=True, help="directory to write the Parquet result to")
    parser.add_argument("--min-amount", type=float, default=0.0, help="ignore transactions below this amount")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spark = SparkSession.builder.appName("revenue_by_category").getOrCreate()
    try:
        transactions = spark.read.csv(args.input, header=True, inferSchema=True)
        missing = {"status", "category", "country", "amount", "customer_id"} - set(transactions.columns)
        if missing:
            print(f"input {args.input} lacks the columns {sorted(missing)}", file=sys.stderr)
            return 2
        revenue = (
            transactions.where((F.col("status") == "active") & (F.col("amount") > args.min_amount))
            .groupBy("category", "country")
            .agg(
                F.round(F.sum("amount"), 2).alias("revenue"),
                F.count("*").alias("transactions"),
                F.countDistinct("customer_id").alias("customers"),
            )
            .orderBy(F.desc("revenue"))
        )
        output = Path(args.output)
        staging = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}")
        revenue.write.parquet(str(staging))
        shutil.rmtree(output, ignore_errors=True)
        staging.rename(output)
        print(json.dumps({"rows_in": transactions.count(), "rows_out": spark.read.parquet(str(output)).count()}))
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
