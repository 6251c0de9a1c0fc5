"""Secrets: the masking keys read from Airflow connections and the one masking step of what is stored or shown."""
