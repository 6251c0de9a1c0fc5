#!/usr/bin/env bash
# The whole test suite (unit, integration, the Airflow stack) in one pytest session, then the wall time of
# each test group. Called by `make test` and by .ci/run. pytest's exit code is kept: 5 (no tests) fails too.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci-work
export PATH=$PWD/.venv/bin:$PATH
.venv/bin/python -m pytest tests --durations=30 --junitxml=.ci-work/junit.xml "$@"
status=$?
.venv/bin/python scripts/test_group_times.py .ci-work/junit.xml || true
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
fi
exit "$status"
