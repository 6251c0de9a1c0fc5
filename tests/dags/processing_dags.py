"""DAGs run by the operator tests with ``dag.test()`` (which needs them in the DAGs folder)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_enterprise.config import RetryPolicySettings
from airflow_provider_enterprise.events.dag import build_event_job_dag
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.operators.job_dag import build_job_dag
from airflow_provider_enterprise.resilience.retry import NamedRetryPolicy
from airflow_provider_enterprise.sensors.circuit import CircuitClosedSensor
from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
AGGREGATE = {
    "type": "groupby",
    "columns": ["category"],
    "aggregations": {"total_amount": "sum(amount)", "transactions": "count(*)"},
}

with DAG(
    "test_processing", schedule=None, start_date=START, params={"input_path": "", "output_path": ""}
) as processing:
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_processing",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        processing_logic={"transformations": [{"type": "filter", "condition": "status = 'active'"}, AGGREGATE]},
        execution_engine="local",
    )

with DAG(
    "test_processing_templated",
    schedule=None,
    start_date=START,
    params={"data_dir": "", "status": "active", "min_amount": 100},
) as templated:
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_processing_templated",
        input_path="{{ params.data_dir }}/in/{{ dag_run.run_after | ds }}.csv",
        output_path="{{ params.data_dir }}/out/{{ dag_run.run_after | ds }}/{{ params.status }}",
        processing_logic={
            "transformations": [
                {"type": "filter", "condition": "status = '{{ params.status }}' AND amount >= {{ params.min_amount }}"},
                AGGREGATE,
            ]
        },
        execution_engine="local",
    )

#: A job whose upstream writes its Parquet files in place: a half-written file (permanent by the table) is worth
#: another try.
IN_PLACE = NamedRetryPolicy(
    "in_place_upstream",
    RetryPolicySettings(
        max_attempts=2, initial_delay=0.01, max_delay=0.01, transient_errors=("duckdb.InvalidInputException",)
    ),
)

with DAG("test_processing_retry", schedule=None, start_date=START, params={"data_dir": ""}) as retried:
    # Try 1 reads a malformed file (transient by the job's policy), try 2 a good one.
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_processing_retry",
        input_path="{{ params.data_dir }}/try{{ ti.try_number }}",  # a directory: its file's suffix is the format
        output_path="{{ params.data_dir }}/out",
        processing_logic={"transformations": [AGGREGATE]},
        execution_engine="local",
        retries=IN_PLACE.retries,
        retry_policy=IN_PLACE,
    )

with DAG(
    "test_processing_engine_unavailable",
    schedule=None,
    start_date=START,
    params={"input_path": "", "output_path": ""},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
) as engine_unavailable:
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_processing_engine_unavailable",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        execution_engine="spark",
    )

with DAG(
    "test_processing_policy",
    schedule=None,
    start_date=START,
    params={"input_path": "", "output_path": ""},
) as with_policy:
    # Every try reads a file the engine cannot read, which the 'fast' policy retries (a file its upstream writes in
    # place); its short delays keep the test short.
    FAST = NamedRetryPolicy(
        "fast",
        RetryPolicySettings(
            max_attempts=3, initial_delay=0.5, max_delay=1, transient_errors=("InvalidInputException",)
        ),
    )
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_processing_policy",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        processing_logic={"transformations": [AGGREGATE]},
        job_data={"owner": "data-team", "api_password": "s3cr3t-value-123"},
        execution_engine="local",
        retries=FAST.retries,
        retry_policy=FAST,
    )

with DAG(
    "test_job_sensor",
    schedule=None,
    start_date=START,
    params={"run_id": "", "timeout": 30, "soft_fail": False},
) as sensing:
    # Waits in the triggerer for the job of another run's task (the test completes it meanwhile).
    EnterpriseJobSensor(
        task_id="wait",
        dag_id="sensor_target",
        run_id="{{ params.run_id }}",
        task_id_to_watch="process",
        deferrable=True,
        poke_interval=0.5,
        timeout=8,
    )
    EnterpriseJobSensor(
        task_id="wait_soft",
        dag_id="sensor_target",
        run_id="never",
        task_id_to_watch="process",
        deferrable=True,
        poke_interval=0.5,
        timeout=2,
        soft_fail=True,
    )
    CircuitClosedSensor(task_id="wait_circuit", name="test:sensor", deferrable=True, poke_interval=0.5, timeout=8)

with DAG(
    "test_processing_circuit",
    schedule=None,
    start_date=START,
    params={"input_path": "", "output_path": ""},
    default_args={"retries": 0},
) as guarded:
    for mode in ("fail_fast", "defer"):
        EnterpriseDataProcessingOperator(
            task_id=f"process_{mode}",
            job_name=f"guarded_{mode}",
            input_path="{{ params.input_path }}",
            output_path="{{ params.output_path }}/" + mode,
            processing_logic={"transformations": [AGGREGATE]},
            execution_engine="local",
            circuit_breaker=f"test:storage_{mode}",
            on_circuit_open=mode,
        )
    # A Spark job whose Spark breaker is open runs on the local engine instead (in the task, deferrable or not).
    EnterpriseDataProcessingOperator(
        task_id="process_fallback",
        job_name="guarded_fallback",
        input_path="{{ params.input_path }}",
        output_path="{{ params.output_path }}/fallback",
        processing_logic={"transformations": [AGGREGATE]},
        execution_engine="spark",
        circuit_breaker="test:spark_fallback",
        on_circuit_open="fallback",
        allow_fallback=True,
        deferrable=True,
    )

#: Small resources for the test cluster (one worker of 3 cores, a Connect server holding one).
SPARK_TEST_RESOURCES = {
    "executor_memory": "512m",
    "executor_cores": 1,
    "max_executors": 1,
    "driver_memory": "768m",
    "conf": {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"},
}


def _one_task_dag(dag_id: str, transformations: list[dict], params: dict | None = None, **fields) -> DAG:
    """A one-task processing DAG reading ``params.input_path`` into ``params.output_path``, with no retries unless
    ``fields`` set them; ``fields`` are the operator's (engine, connection, resources, timeout...)."""
    with DAG(
        dag_id,
        schedule=None,
        start_date=START,
        params={"input_path": "", "output_path": "", **(params or {})},
        default_args={"retries": 0},
    ) as dag:
        EnterpriseDataProcessingOperator(
            task_id="process",
            job_name=dag_id,
            input_path="{{ params.input_path }}",
            output_path="{{ params.output_path }}",
            processing_logic={"transformations": transformations},
            **fields,
        )
    return dag


def _engine_dag(engine: str) -> DAG:
    """A processing DAG on ``engine``; the cluster is the connection spark_default, which each test sets
    (AIRFLOW_CONN_SPARK_DEFAULT)."""
    return _one_task_dag(
        f"test_processing_{engine}",
        [{"type": "filter", "condition": "status = 'active'"}, AGGREGATE],
        execution_engine=engine,
        spark_resources=SPARK_TEST_RESOURCES,
        timeout=300,
    )


spark_engine = _engine_dag("spark")
auto_engine = _engine_dag("auto")

#: Masking on either engine: the key comes from the connection enterprise_masking_default, which each test sets.
MASKING = {
    "type": "mask",
    "columns": {
        "email": "hash",
        "card": {"method": "partial", "keep_last": 4},
        "name": "redact",
        "phone": "null",
    },
}

masking = _one_task_dag(
    "test_masking",
    [MASKING],
    params={"engine": "local"},
    execution_engine="{{ params.engine }}",
    spark_resources=SPARK_TEST_RESOURCES,
    timeout=300,
)


def _deferred_dag(name: str, transformations: list[dict], **fields) -> DAG:
    """A job deferred on a cluster (the connection spark_cluster_test, which the tests set to a stand-in Kubernetes
    or YARN)."""
    return _one_task_dag(
        name,
        transformations,
        execution_engine="spark",
        spark_conn_id="spark_cluster_test",
        deferrable=True,
        poll_interval=0.2,
        **{"timeout": 120, **fields},
    )


deferred = _deferred_dag("test_processing_deferred", [{"type": "filter", "condition": "status = 'active'"}, AGGREGATE])
#: a try whose status API stays down fails; its retry must re-attach to the application instead of submitting again
deferred_retry = _deferred_dag(
    "test_processing_deferred_retry",
    [{"type": "filter", "condition": "status = 'active'"}, AGGREGATE],
    retries=1,
    retry_delay=timedelta(seconds=0),
)
#: the application outlives the job's timeout: the resumed task kills it
deferred_timeout = _deferred_dag(
    "test_processing_deferred_timeout", [{"type": "filter", "condition": "status = 'active'"}], timeout=2
)
#: bad rows fail the job: the driver's BadRowsError (permanent) must reach the resumed task
deferred_strict = _deferred_dag(
    "test_processing_deferred_strict",
    [{"type": "filter", "condition": "amount > 0"}],
    on_bad_rows="fail",
    input_options={"schema": {"id": "int", "amount": "double", "day": "date", "flag": "boolean"}},
)

#: Error classes through the operator: a named policy of 3 fast attempts, a breaker; ``params.condition`` is rendered
#: at run time, so a bad one fails the task, not the DAG file.
ERRORS_POLICY = NamedRetryPolicy("errors", RetryPolicySettings(max_attempts=3, initial_delay=0.1, max_delay=0.2))
errors = _one_task_dag(
    "test_processing_errors",
    [{"type": "filter", "condition": "{{ params.condition }}"}],
    params={"condition": "amount > 0"},
    retries=ERRORS_POLICY.retries,
    retry_policy=ERRORS_POLICY,
    circuit_breaker="test:errors",
)
#: every try passes its timeout (a transient JobTimeoutError), with Airflow's own retries (no named policy)
errors_timeout = _one_task_dag(
    "test_processing_errors_timeout",
    [{"type": "filter", "condition": "amount > 0"}],
    timeout=0.001,
    retries=2,
    retry_delay=timedelta(seconds=0),
    circuit_breaker="test:errors",
)

#: Jobs on the test session's S3 endpoint (moto's server): the connection aws_default, unless a test names another.
object_storage = _one_task_dag(
    "test_object_storage",
    [{"type": "filter", "condition": "status = 'active'"}, AGGREGATE],
    params={"storage_conn_id": "aws_default"},
    storage_conn_id="{{ params.storage_conn_id }}",
)
#: The same with Airflow's retries: an unreachable store is transient, and its connection's breaker counts it.
object_storage_retried = _one_task_dag(
    "test_object_storage_retried",
    [{"type": "filter", "condition": "status = 'active'"}],
    params={"storage_conn_id": "aws_default"},
    storage_conn_id="{{ params.storage_conn_id }}",
    retries=2,
    retry_delay=timedelta(seconds=0),
)


class KilledWhileRegistering(EnterpriseDataProcessingOperator):
    """Told to stop (``on_kill``, which the task runner's SIGTERM handler calls) once its attempt is registered and
    before its engine exists: the moment a cancel can land before there is an engine to stop."""

    def register_attempt(self, *args, **kwargs):
        attempt = super().register_attempt(*args, **kwargs)
        self.on_kill()
        return attempt


with DAG("test_processing_killed_early", schedule=None, start_date=START, params={"data_dir": ""}) as killed_early:
    KilledWhileRegistering(
        task_id="process",
        job_name="test_processing_killed_early",
        input_path="{{ params.data_dir }}/in.csv",
        output_path="{{ params.data_dir }}/out",
        processing_logic={"transformations": [AGGREGATE]},
        execution_engine="local",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

#: The generic job DAG (jobs submitted as a run's params), under a test id.
submitted_jobs = build_job_dag("test_enterprise_job")

#: The queue-fed job DAG over the test's Redis (``AIRFLOW_CONN_TEST_EVENTS_REDIS``), starting runs of the one above.
event_jobs = build_event_job_dag(
    "test-job-messages",
    redis_conn_id="test_events_redis",
    dag_id="test_enterprise_job_events",
    job_dag_id=submitted_jobs.dag_id,
    max_messages=3,
)

with DAG("test_render_error", schedule=None, start_date=START, params={"data_dir": ""}) as render_error:
    # a template that cannot render (no such param): the failure is the job's attempt's, not the task runner's
    EnterpriseDataProcessingOperator(
        task_id="process",
        job_name="test_render_error",
        input_path="{{ params.data_dir }}/in.csv",
        output_path="{{ params.data_dir }}/{{ params.no_such_param.day }}",
        processing_logic={"transformations": [AGGREGATE]},
        execution_engine="local",
    )


def quality_checks(severity: str) -> list[dict]:
    """Checks of the active transactions: one ``amount_in_range`` of ``severity`` that fails on the sample data."""
    return [
        {"type": "not_null", "column": "transaction_id"},
        {"type": "unique", "columns": ["transaction_id"]},
        {"type": "accepted_values", "column": "status", "values": ["active"]},
        {"type": "range", "column": "amount", "min": 0, "max": 200, "severity": severity, "name": "amount_in_range"},
        {"type": "matches", "column": "country", "pattern": "^[A-Z]{2}$"},
        {"type": "row_count", "min": 1, "max_change_pct": 50},
        {"type": "freshness", "column": "event_time", "max_age": "3650d"},
        {"type": "schema", "columns": {"transaction_id": "bigint", "amount": "double"}, "mode": "evolve"},
        {"type": "row_count", "min": 1, "input": "input", "name": "input_not_empty"},
    ]


for _severity in ("fail", "warn"):
    with DAG(
        f"test_quality_{_severity}", schedule=None, start_date=START, params={"input_path": "", "output_path": ""}
    ) as _quality:
        EnterpriseDataProcessingOperator(
            task_id="process",
            job_name=f"test_quality_{_severity}",
            input_path="{{ params.input_path }}",
            output_path="{{ params.output_path }}",
            processing_logic={
                "transformations": [{"type": "filter", "condition": "status = 'active'"}],
                "checks": quality_checks(_severity),
            },
            execution_engine="local",
            retries=2,
        )
    globals()[f"quality_{_severity}"] = _quality
