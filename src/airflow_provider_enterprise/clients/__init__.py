"""Clients of the services around a job: the job API (Python), Airflow's REST API and Spark's status APIs."""
