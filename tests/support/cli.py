"""Run ``enterprise-orchestrator`` against the stack, as an operator would."""

from __future__ import annotations

import subprocess

from support.env import BIN
from support.stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack


def orchestrator_run(stack: AirflowStack, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the CLI with the stack's environment and API credentials."""
    env = {**stack.env, "AIRFLOW_API_USERNAME": ADMIN_USER, "AIRFLOW_API_PASSWORD": ADMIN_PASSWORD}
    return subprocess.run(
        [str(BIN / "enterprise-orchestrator"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def orchestrator(stack: AirflowStack, *args: str) -> str:
    """Run the CLI against the stack; return its output (exit 0 asserted)."""
    done = orchestrator_run(stack, *args)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout
