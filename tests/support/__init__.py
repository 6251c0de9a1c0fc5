"""Helpers shared by the test suite: the embedded PostgreSQL session, Airflow set-up and the stack."""
