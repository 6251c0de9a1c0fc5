"""Run ``enterprise-orchestrator`` against the stack, as an operator would."""

from __future__ import annotations

import subprocess

from support.env import BIN
from support.stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack


def orchestrator(stack: AirflowStack, *args: str) -> str:
    """Run the CLI with the stack's environment and API credentials; return its output (exit 0 asserted)."""
    env = {**stack.env, "AIRFLOW_API_USERNAME": ADMIN_USER, "AIRFLOW_API_PASSWORD": ADMIN_PASSWORD}
    done = subprocess.run(
        [str(BIN / "enterprise-orchestrator"), *args], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout
