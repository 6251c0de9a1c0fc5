"""The generic PySpark application and its parts; no Airflow imports (this runs on Spark drivers)."""

#: Spark's own environment variable for the ``spark.authenticate`` secret: its SecurityManager reads it before its
#: conf, so the secret reaches spark-submit without being on its command line.
SPARK_AUTH_SECRET_ENV = "_SPARK_AUTH_SECRET"
