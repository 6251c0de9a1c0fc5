"""The generic PySpark application and its parts; no Airflow imports (this runs on Spark drivers)."""
