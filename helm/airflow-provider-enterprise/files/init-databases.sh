#!/usr/bin/env bash
# First start of the compose PostgreSQL: one database for Airflow's metadata and one for the job registry,
# each with its own owner (the registry never lives in Airflow's metadata database).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE airflow LOGIN PASSWORD '${AIRFLOW_DB_PASSWORD}';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE enterprise LOGIN PASSWORD '${ENTERPRISE_DB_PASSWORD}';
CREATE DATABASE enterprise OWNER enterprise;
SQL
