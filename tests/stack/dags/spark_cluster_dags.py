"""
DAGs of the stack tests that run the JVM test application in cluster deploy mode on the session's Spark
cluster (connection ``spark_cluster_mode``, created by the tests): deferred, deferred with a short timeout,
and polled in the task.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator

PARAMS = {
    "application": Param("", type="string", description="the test application's JAR"),
    "mode": Param("count", enum=["count", "fail", "sleep"]),
    "output": Param("", type="string", description="file the application writes"),
    "seconds": Param("0", type="string", description="how long 'sleep' sleeps"),
}


def cluster_job(dag_id: str, *, deferrable: bool, timeout: float, retries: int) -> DAG:
    with DAG(dag_id, schedule=None, catchup=False, params=PARAMS, tags=["stack-test"]) as dag:
        EnterpriseSparkSubmitOperator(
            task_id="run_application",
            application="{{ params.application }}",
            java_class="EnterpriseTestApp",
            application_args=["{{ params.mode }}", "{{ params.output }}", "{{ params.seconds }}"],
            conf={"spark.cores.max": "1"},
            spark_resources={"driver_memory": "512m", "executor_memory": "512m", "executor_cores": 1},
            spark_conn_id="spark_cluster_mode",
            deploy_mode="cluster",
            deferrable=deferrable,
            timeout=timeout,
            poll_interval=1,
            retries=retries,
            retry_delay=timedelta(seconds=1),
        )
    return dag


deferred = cluster_job("stack_spark_deferred", deferrable=True, timeout=300, retries=1)
deferred_short_timeout = cluster_job("stack_spark_deferred_timeout", deferrable=True, timeout=20, retries=0)
polled = cluster_job("stack_spark_polled", deferrable=False, timeout=300, retries=1)
