"""
TPC-H Q1 hand-written in PySpark: the baseline of the Spark engine's benchmark, run with a plain spark-submit.

    spark-submit bench/spark_q1.py LINEITEM OUTPUT     (LINEITEM: .csv with a header, or .parquet)
    spark-submit bench/spark_q1.py --empty             (start a session and stop: Spark's fixed cost)
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(argv: list[str]) -> None:
    spark = SparkSession.builder.appName("tpch_q1_handwritten").getOrCreate()
    if argv == ["--empty"]:
        spark.stop()
        return
    source, output = argv
    if source.endswith(".csv"):
        lineitem = spark.read.csv(source, header=True, inferSchema=True)
    else:
        lineitem = spark.read.parquet(source)
    disc_price = F.col("l_extendedprice") * (1 - F.col("l_discount"))
    q1 = (
        lineitem.where(F.col("l_shipdate") <= F.lit("1998-09-02").cast("date"))
        .groupBy("l_returnflag", "l_linestatus")
        .agg(
            F.sum("l_quantity").alias("sum_qty"),
            F.sum("l_extendedprice").alias("sum_base_price"),
            F.sum(disc_price).alias("sum_disc_price"),
            F.sum(disc_price * (1 + F.col("l_tax"))).alias("sum_charge"),
            F.avg("l_quantity").alias("avg_qty"),
            F.avg("l_extendedprice").alias("avg_price"),
            F.avg("l_discount").alias("avg_disc"),
            F.count(F.lit(1)).alias("count_order"),
        )
        .orderBy("l_returnflag", "l_linestatus")
    )
    q1.write.mode("overwrite").parquet(output)  # no row count: a hand-written job would not scan again for one
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
