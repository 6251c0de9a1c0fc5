"""
Write docs/reference.md, the operator, sensor, hook and trigger reference, from the classes' docstrings.

The docstrings are the source (they are what Airflow shows, too); this script adds an example per class and
turns Sphinx markup into Markdown. ``--check`` fails when the committed file is not the script's output
(tests/unit/test_reference_docs.py runs it).

    .venv/bin/python scripts/build_reference.py [--check]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "reference.md"

#: section -> [(dotted class path, example)]
CLASSES: dict[str, list[tuple[str, str]]] = {
    "Operators": [
        (
            "airflow_provider_enterprise.operators.data_processing.EnterpriseDataProcessingOperator",
            """EnterpriseDataProcessingOperator(
    task_id="process_daily_data",
    job_name="daily_processing",
    input_path="/data/raw/{{ dag_run.run_after | ds }}.csv",
    output_path="/data/processed/{{ dag_run.run_after | ds }}",
    processing_logic={
        "transformations": [
            {"type": "filter", "condition": "status = 'active'"},
            {"type": "groupby", "columns": ["category"], "aggregations": {"total": "sum(amount)"}},
        ]
    },
    execution_engine="auto",
    retry_policy_name="network_error",
    timeout=3600,
)""",
        ),
        (
            "airflow_provider_enterprise.operators.spark_submit.EnterpriseSparkSubmitOperator",
            """EnterpriseSparkSubmitOperator(
    task_id="revenue_by_category",
    application="/opt/airflow/spark_jobs/revenue_by_category.py",
    application_args=["--input", "/data/in.csv", "--output", "/data/out"],
    spark_resources={"executor_memory": "2g", "executor_cores": 2, "max_executors": 4},
    spark_conn_id="spark_k8s",
    deploy_mode="cluster",
    deferrable=True,
    timeout=1800,
)""",
        ),
        (
            "airflow_provider_enterprise.operators.submitted_job.EnterpriseSubmittedJobOperator",
            "# the task of the generic job DAG (airflow_provider_enterprise.operators.job_dag.build_job_dag)\n"
            'EnterpriseSubmittedJobOperator(task_id="run_job", retry_policy_name="network_error")',
        ),
        (
            "airflow_provider_enterprise.operators.base.EnterpriseJobOperator",
            "# the base of both operators above: these arguments work on either",
        ),
        (
            "airflow_provider_enterprise.operators.dead_letter.DeadLetterReplayOperator",
            """DeadLetterReplayOperator(task_id="replay", dead_letter_id="{{ params.dead_letter_id }}")""",
        ),
    ],
    "Data-quality checks (processing_logic.checks)": [
        (
            f"airflow_provider_enterprise.spec.checks.{name}",
            example,
        )
        for name, example in (
            ("NotNullCheck", '{"type": "not_null", "column": "customer_id"}'),
            ("UniqueCheck", '{"type": "unique", "columns": ["order_id", "line"]}'),
            ("AcceptedValuesCheck", '{"type": "accepted_values", "column": "status", "values": ["active", "closed"]}'),
            ("RangeCheck", '{"type": "range", "column": "discount", "min": 0, "max": 1, "max_inclusive": False}'),
            ("MatchesCheck", '{"type": "matches", "column": "country", "pattern": "^[A-Z]{2}$", "severity": "warn"}'),
            ("RowCountCheck", '{"type": "row_count", "min": 1, "max_change_pct": 25}'),
            ("FreshnessCheck", '{"type": "freshness", "column": "event_time", "max_age": "6h", "input": "events"}'),
            (
                "SchemaCheck",
                '{"type": "schema", "columns": {"id": "bigint", "amount": "decimal(12,2)"}, "mode": "evolve"}',
            ),
        )
    ],
    "Sensors": [
        (
            "airflow_provider_enterprise.sensors.job.EnterpriseJobSensor",
            """EnterpriseJobSensor(
    task_id="wait_for_upstream_job",
    dag_id="enterprise_daily_processing",
    run_id="{{ dag_run.run_id }}",
    task_id_to_watch="process_daily_data",
    deferrable=True,
)""",
        ),
        (
            "airflow_provider_enterprise.sensors.circuit.CircuitClosedSensor",
            """CircuitClosedSensor(task_id="wait_for_spark", name="spark:spark_default", deferrable=True)""",
        ),
    ],
    "Hooks": [
        (
            "airflow_provider_enterprise.hooks.metadata.EnterpriseMetadataHook",
            """hook = EnterpriseMetadataHook()
hook.migrate()
latest = hook.list_jobs(dag_id="enterprise_daily_processing", limit=1)""",
        ),
        (
            "airflow_provider_enterprise.hooks.spark_submit.EnterpriseSparkSubmitHook",
            """EnterpriseSparkSubmitHook(conn_id="spark_default", application_args=["--day", "2026-03-14"])""",
        ),
        (
            "airflow_provider_enterprise.clients.spark_status.SparkApplicationTracker",
            """tracker = SparkApplicationTracker("standalone", "http://spark-master:6066")
status = tracker.status("driver-20260314093000-0001")""",
        ),
        (
            "airflow_provider_enterprise.clients.spark_status.SparkMasterStatusHook",
            """SparkMasterStatusHook("http://spark-master:8080").status().utilization""",
        ),
    ],
    "Triggers": [
        (
            "airflow_provider_enterprise.triggers.spark.SparkApplicationTrigger",
            "# deferred to by EnterpriseSparkSubmitOperator(deploy_mode='cluster', deferrable=True)",
        ),
        (
            "airflow_provider_enterprise.triggers.job.EnterpriseJobTrigger",
            "# deferred to by EnterpriseJobSensor(deferrable=True)",
        ),
        (
            "airflow_provider_enterprise.triggers.circuit.CircuitClosedTrigger",
            "# deferred to by CircuitClosedSensor(deferrable=True) and on_circuit_open='defer'",
        ),
        (
            "airflow_provider_enterprise.triggers.redis_stream.RedisStreamTrigger",
            """Asset(
    name="enterprise_job_messages.enterprise-jobs",
    uri="redis+stream://redis_default/enterprise-jobs",
    watchers=[AssetWatcher(name="jobs", trigger=RedisStreamTrigger(stream="enterprise-jobs"))],
)  # what build_event_job_dag("enterprise-jobs") schedules its DAG on""",
        ),
    ],
}


def markdown(text: str) -> str:
    """Turn the Sphinx markup of a docstring into Markdown."""
    text = re.sub(r":(?:class|meth|func|data|attr|mod):`~?([\w.]+)`", lambda m: f"`{m[1].rsplit('.', 1)[-1]}`", text)
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    return text


def describe(path: str, example: str) -> str:
    module_name, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), name)
    doc = inspect.cleandoc(cls.__doc__ or "")
    prose, params = [], []
    for block in re.split(r"\n(?=:param )", doc):
        match = re.match(r":param (\w+): (.*)", block, flags=re.DOTALL)
        if match:
            params.append(f"- `{match[1]}`: " + markdown(" ".join(match[2].split())))
        else:
            prose.append(markdown(block).strip())
    parts = [f"### `{name}`", f"`{path}`", "\n\n".join(prose)]
    if params:
        parts.append("\n".join(params))
    parts.append(f"```python\n{example}\n```")
    return "\n\n".join(parts)


def build() -> str:
    sections = [
        "# Reference",
        "The provider's operators, data-quality checks, sensors, hooks and triggers, from their docstrings\n"
        "(written by `scripts/build_reference.py`: edit the docstrings, then run it).\n"
        "Settings: [configuration](configuration.md); the job spec: [job specs](job-spec.md).",
    ]
    for section, classes in CLASSES.items():
        sections.append(f"## {section}")
        sections.extend(describe(path, example) for path, example in classes)
    return "\n\n".join(sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/reference.md is not current")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is not current: run scripts/build_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
