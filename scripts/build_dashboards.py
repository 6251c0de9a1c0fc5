"""
Write the provisioned Grafana dashboards (``deploy/grafana/dashboards/*.json``) from the panel lists below.

    .venv/bin/python scripts/build_dashboards.py          # rewrite the JSON files
    .venv/bin/python scripts/build_dashboards.py --check  # exit 1 if a file differs from what this builds

Every query uses Prometheus names that ``deploy/statsd-mapping.yml`` produces; ``tests/unit/test_dashboards.py``
checks that, and that the committed files are this script's output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

#: dashboard uid -> (title, [(panel title, panel type, unit, [PromQL expressions with their legends])])
DASHBOARDS: dict[str, tuple[str, list[tuple[str, str, str, list[tuple[str, str]]]]]] = {
    "enterprise-overview": (
        "Enterprise: system overview and health",
        [
            ("Jobs running now", "stat", "short", [("sum(orchestrator_active_jobs)", "running")]),
            (
                "Job success rate (1h)",
                "stat",
                "percentunit",
                [
                    (
                        'sum(increase(orchestrator_jobs_total{status="succeeded"}[1h]))'
                        " / sum(increase(orchestrator_jobs_total[1h]))",
                        "success rate",
                    )
                ],
            ),
            (
                "Open circuit breakers",
                "stat",
                "short",
                [("count(orchestrator_circuit_state == 2) or vector(0)", "open")],
            ),
            (
                "Dead letters (24h)",
                "stat",
                "short",
                [("sum(increase(orchestrator_dead_letters_total[24h]))", "dead letters")],
            ),
            (
                "Scheduler heartbeats",
                "timeseries",
                "short",
                [("rate(airflow_scheduler_heartbeat_total[5m])", "scheduler")],
            ),
            (
                "Triggerer heartbeats",
                "timeseries",
                "short",
                [("rate(airflow_triggerer_heartbeat_total[5m])", "triggerer")],
            ),
            ("DAG import errors", "stat", "short", [("max(airflow_dag_processing_import_errors)", "import errors")]),
        ],
    ),
    "enterprise-jobs": (
        "Enterprise: job execution",
        [
            (
                "Jobs by status and engine",
                "timeseries",
                "short",
                [("sum by (status, engine) (rate(orchestrator_jobs_total[5m]))", "{{status}} / {{engine}}")],
            ),
            (
                "Job duration p50 / p95",
                "timeseries",
                "s",
                [
                    (
                        "histogram_quantile(0.5, sum by (le) (rate(orchestrator_jobs_duration_seconds_bucket[5m])))",
                        "p50",
                    ),
                    (
                        "histogram_quantile(0.95, sum by (le) (rate(orchestrator_jobs_duration_seconds_bucket[5m])))",
                        "p95",
                    ),
                ],
            ),
            (
                "Records processed and written",
                "timeseries",
                "short",
                [
                    ("sum by (engine) (rate(orchestrator_records_processed_total[5m]))", "read / {{engine}}"),
                    ("sum by (engine) (rate(orchestrator_records_written_total[5m]))", "written / {{engine}}"),
                ],
            ),
            (
                "Bad rows",
                "timeseries",
                "short",
                [("sum by (dag_id) (increase(orchestrator_bad_rows_total[1h]))", "{{dag_id}}")],
            ),
            (
                "Retries by error",
                "timeseries",
                "short",
                [("sum by (error_class) (increase(orchestrator_retries_total[1h]))", "{{error_class}}")],
            ),
            (
                "Dead letters and replays",
                "timeseries",
                "short",
                [
                    ("sum by (dag_id) (increase(orchestrator_dead_letters_total[1h]))", "dead letters {{dag_id}}"),
                    ("sum by (dag_id) (increase(orchestrator_dead_letter_replays_total[1h]))", "replays {{dag_id}}"),
                ],
            ),
            ("Circuit breakers", "timeseries", "short", [("orchestrator_circuit_state", "{{breaker}}")]),
            (
                "Data-quality checks warned and failed",
                "timeseries",
                "short",
                [
                    (
                        'sum by (dag_id, check, outcome) (increase(orchestrator_checks_total{outcome!="passed"}[1h]))',
                        "{{outcome}} {{dag_id}} / {{check}}",
                    )
                ],
            ),
        ],
    ),
    "enterprise-spark": (
        "Enterprise: Spark cluster",
        [
            ("Cluster utilisation", "timeseries", "percentunit", [("spark_cluster_utilization", "{{master}}")]),
            (
                "Status API errors (triggerer)",
                "timeseries",
                "short",
                [("sum by (backend) (increase(orchestrator_spark_status_errors_total[15m]))", "{{backend}}")],
            ),
            (
                "Spark jobs running",
                "timeseries",
                "short",
                [('sum(orchestrator_active_jobs{engine="spark"})', "running")],
            ),
            (
                "Spark job outcomes",
                "timeseries",
                "short",
                [('sum by (status) (rate(orchestrator_jobs_total{engine="spark"}[5m]))', "{{status}}")],
            ),
            (
                "Spark job duration p95",
                "timeseries",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        '(rate(orchestrator_jobs_duration_seconds_bucket{engine="spark"}[5m])))',
                        "p95",
                    )
                ],
            ),
        ],
    ),
    "enterprise-airflow": (
        "Enterprise: Airflow workflows",
        [
            (
                "DAG run duration p95 by state",
                "timeseries",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, state) (rate(airflow_dag_run_duration_bucket[15m])))",
                        "{{state}}",
                    )
                ],
            ),
            (
                "Task instances finished",
                "timeseries",
                "short",
                [("sum by (state) (rate(airflow_ti_finish_total[5m]))", "{{state}}")],
            ),
            ("Triggers running", "timeseries", "short", [("sum(airflow_triggers_running)", "running")]),
            (
                "Triggers failed / succeeded",
                "timeseries",
                "short",
                [
                    ("rate(airflow_triggers_failed_total[5m])", "failed"),
                    ("rate(airflow_triggers_succeeded_total[5m])", "succeeded"),
                ],
            ),
            (
                "Triggerer event loop blocked",
                "timeseries",
                "short",
                [("rate(airflow_triggers_blocked_main_thread_total[5m])", "blocked")],
            ),
        ],
    ),
    "enterprise-resources": (
        "Enterprise: resource utilisation",
        [
            (
                "Executor slots",
                "timeseries",
                "short",
                [
                    ("sum(airflow_executor_open_slots)", "open"),
                    ("sum(airflow_executor_running_tasks)", "running"),
                    ("sum(airflow_executor_queued_tasks)", "queued"),
                ],
            ),
            (
                "Pool slots",
                "timeseries",
                "short",
                [
                    ("airflow_pool_open_slots", "open {{pool_name}}"),
                    ("airflow_pool_running_slots", "running {{pool_name}}"),
                ],
            ),
            ("Triggerer capacity left", "timeseries", "short", [("airflow_triggerer_capacity_left", "{{hostname}}")]),
            ("Spark cores in use", "timeseries", "percentunit", [("max(spark_cluster_utilization)", "busiest master")]),
            (
                "Jobs running by engine",
                "timeseries",
                "short",
                [("sum by (engine) (orchestrator_active_jobs)", "{{engine}}")],
            ),
        ],
    ),
}


def build(uid: str) -> dict:
    title, panels = DASHBOARDS[uid]
    built = []
    for index, (panel_title, kind, unit, queries) in enumerate(panels):
        width = 6 if kind == "stat" else 12
        built.append(
            {
                "id": index + 1,
                "title": panel_title,
                "type": kind,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": width, "x": (index * width) % 24, "y": (index * width) // 24 * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
                    for n, (expr, legend) in enumerate(queries)
                ],
            }
        )
    return {
        "uid": uid,
        "title": title,
        "tags": ["airflow-provider-enterprise"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": built,
    }


def render(uid: str) -> str:
    return json.dumps(build(uid), indent=2) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for uid in DASHBOARDS:
        path = OUT / f"{uid}.json"
        text = render(uid)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"dashboards out of date (run scripts/build_dashboards.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
