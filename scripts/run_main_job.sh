#!/usr/bin/env bash
# The main job: the example processing DAG (dags/enterprise_daily_processing.py) on the bundled sample data,
# run through real Airflow (`airflow dags test`) with the embedded PostgreSQL defaults. Called by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export AIRFLOW_HOME=${AIRFLOW_HOME:-$REPO/.airflow}
export PATH=$REPO/.venv/bin:$PATH
export AIRFLOW__CORE__DAGS_FOLDER=$REPO/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export ENTERPRISE_OUTPUT_DIR=${ENTERPRISE_OUTPUT_DIR:-$AIRFLOW_HOME/enterprise/output}
mkdir -p "$AIRFLOW_HOME/logs"
LOG=$AIRFLOW_HOME/logs/main-job.log
SECONDS=0

echo "==> embedded PostgreSQL (registry + Airflow metadata) in $AIRFLOW_HOME/enterprise/pgdata"
enterprise-orchestrator db start --database airflow | sed 's/^/    /'
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$(enterprise-orchestrator db uri --database airflow --sqlalchemy | tail -n 1)
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN

echo "==> migrating Airflow's metadata database and the job registry"
airflow db migrate >"$AIRFLOW_HOME/logs/db-migrate.log" 2>&1 || { tail -40 "$AIRFLOW_HOME/logs/db-migrate.log"; exit 1; }
enterprise-orchestrator migrate | sed 's/^/    /'

echo "==> airflow dags test enterprise_daily_processing (log: $LOG)"
if ! airflow dags test enterprise_daily_processing >"$LOG" 2>&1; then
    tail -60 "$LOG"
    echo "main job FAILED; full log in $LOG" >&2
    exit 1
fi
grep -q "DagRun Finished.*state=success" "$LOG" || { tail -60 "$LOG"; echo "main job did not succeed" >&2; exit 1; }

echo "==> result"
enterprise-orchestrator jobs show --dag-id enterprise_daily_processing | sed 's/^/    /'
echo "    main job wall time: ${SECONDS} s (set-up included)"
echo "    the embedded PostgreSQL keeps running; stop it with: make stop"
