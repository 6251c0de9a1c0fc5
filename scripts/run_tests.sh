#!/usr/bin/env bash
# The whole test suite (unit, integration, the Airflow stack) in one pytest session, then the wall time of
# each test group. Called by `make test` and by .ci/run. pytest's exit code is kept: 5 (no tests) fails too.
# The groups run unit, integration, stack: the services the later groups start (Spark JVMs, the Airflow stack,
# whose dag-processor re-parses every few seconds) stay up until the session ends, and would slow the unit tests on
# a two-core machine if these ran after them.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci-work
export PATH=$PWD/.venv/bin:$PATH
.venv/bin/python -m pytest tests/unit tests/integration tests/stack --durations=30 --junitxml=.ci-work/junit.xml "$@"
status=$?
.venv/bin/python scripts/test_group_times.py .ci-work/junit.xml || true
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
fi
exit "$status"
