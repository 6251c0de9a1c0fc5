"""
The DAGs of ``bench/deferred_waits.py``: many registry-job waits deferred straight from the scheduler
(``start_from_trigger``) and ended in the triggerer (``end_from_trigger``), so no worker runs any of them, plus a
few timer probes that measure how late the triggerer fires a trigger.

``BENCH_DEFERRED_WAITS`` (default 20) sets the number of waits and ``BENCH_DEFERRED_POLL`` their poll interval
in seconds (default 2); ``BENCH_DEFERRED_KIND=timer`` makes the waits Airflow's own timers instead. Wait ``i``
waits for the registry job ``(bench_deferred_jobs, bench, job_<i>)``, which the benchmark completes at a random
time; probe ``k`` (in the first DAG) fires at ``dag_run.conf["probe_at"][k]``. The waits are spread over DAGs of
``WAITS_PER_DAG``: Airflow hands every start-from-trigger trigger its whole serialized DAG, so 1,000 waits in one
DAG cost the triggerer 7.3 GB (docs/benchmarks.md).
"""

from __future__ import annotations

import os

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG

from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor

WAITS = int(os.environ.get("BENCH_DEFERRED_WAITS", "20"))
#: ``registry``: the waits poll the job registry (EnterpriseJobSensor); ``timer``: Airflow's own DateTimeTrigger
#: fires at the same times instead, the baseline of what the triggerer itself costs
KIND = os.environ.get("BENCH_DEFERRED_KIND", "registry")
POLL_INTERVAL = float(os.environ.get("BENCH_DEFERRED_POLL", "2"))
PROBES = 10
WAITS_PER_DAG = 20
JOB_DAG, JOB_RUN = "bench_deferred_jobs", "bench"


def job_task_id(i: int) -> str:
    return f"job_{i:04d}"


def dag_id(n: int) -> str:
    return f"bench_deferred_waits_{n:03d}"


DAGS = max(1, -(-WAITS // WAITS_PER_DAG))
for n in range(DAGS):
    with DAG(dag_id(n), schedule=None, max_active_tasks=WAITS_PER_DAG + PROBES, tags=["benchmark"]):
        for i in range(n * WAITS_PER_DAG, min(WAITS, (n + 1) * WAITS_PER_DAG)):
            if KIND == "timer":
                DateTimeSensorAsync(
                    task_id=f"wait_{i:04d}",
                    target_time=f"{{{{ dag_run.conf['wait_at']['wait_{i:04d}'] }}}}",
                    start_from_trigger=True,
                    end_from_trigger=True,
                )
                continue
            EnterpriseJobSensor(
                task_id=f"wait_{i:04d}",
                dag_id=JOB_DAG,
                run_id=JOB_RUN,
                task_id_to_watch=job_task_id(i),
                deferrable=True,
                start_from_trigger=True,
                end_from_trigger=True,
                poke_interval=POLL_INTERVAL,
                timeout=3600,
            )
        for k in range(PROBES if n == 0 else 0):
            DateTimeSensorAsync(
                task_id=f"lag_probe_{k}",
                target_time=f"{{{{ dag_run.conf['probe_at'][{k}] }}}}",
                start_from_trigger=True,
                end_from_trigger=True,
            )
