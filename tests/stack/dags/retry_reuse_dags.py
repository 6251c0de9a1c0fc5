"""
The stack tests' DAG whose first try is SIGKILLed right after its job committed the output (``kill_at='commit'``:
before the attempt is recorded succeeded; ``'recorded'``: after), or never (``'never'``): Airflow retries the try
it never heard end, and a user may clear the task after success. Each try that reaches the end of its job appends
the committed output's ``_SUCCESS`` token to ``<output>.commits`` (a republished output has a new token).
"""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

OUTPUT_ROOT = Path(os.environ.get("ENTERPRISE_OUTPUT_DIR", "/tmp/enterprise-output")) / "retry_reuse"
SAMPLE = Path(__file__).resolve().parents[3] / "dags" / "data" / "transactions.csv"


class KilledAfterCommit(EnterpriseDataProcessingOperator):
    """Kill the first try's own task process (SIGKILL: no callback, no registry write) once its job committed."""

    def record_success(self, attempt: Any, context: Any, **figures: Any) -> None:
        output = Path(figures["output_path"])
        token = json.loads((output / "_SUCCESS").read_text())["token"]
        with output.with_name(output.name + ".commits").open("a") as commits:
            commits.write(f"{attempt.try_number} {token}\n")
        kill_at = context["params"]["kill_at"]
        if attempt.try_number == 1 and kill_at == "commit":
            os.kill(os.getpid(), signal.SIGKILL)
        super().record_success(attempt, context, **figures)
        if attempt.try_number == 1 and kill_at == "recorded":
            os.kill(os.getpid(), signal.SIGKILL)


with DAG(
    "stack_retry_after_commit",
    schedule=None,
    catchup=False,
    tags=["stack-test"],
    params={"name": Param("out", type="string"), "kill_at": Param("never", enum=["never", "commit", "recorded"])},
) as dag:
    KilledAfterCommit(
        task_id="process",
        job_name="retry_after_commit",
        input_path=str(SAMPLE),
        output_path=f"{OUTPUT_ROOT}/{{{{ params.name }}}}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "status = 'active'"},
                {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)"}},
            ]
        },
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
