"""EnterpriseDataProcessingOperator through real Airflow (``dag.test()``) on a real registry."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pendulum
import pytest

from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue
from support.env import CORRUPT_PARQUET, EXAMPLE_DAGS
from support.jobs import dead_letters_of, job_of

pytestmark = pytest.mark.integration

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
RUN_AFTER = pendulum.datetime(2026, 3, 14, 9, 30, tz="UTC")


def expected_totals(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby("category").agg(total_amount=("amount", "sum"), transactions=("amount", "size"))
    return grouped.reset_index().sort_values("category").reset_index(drop=True)


def read_output(path: Path) -> pd.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}/*.parquet') ORDER BY category").df()


def test_success_registers_one_succeeded_attempt(dags, registry, tmp_path: Path) -> None:
    out = tmp_path / "out"
    dag_run = dags.processing.test(run_conf={"input_path": str(SAMPLE), "output_path": str(out)})
    assert dag_run.state == "success"

    frame = pd.read_csv(SAMPLE)
    expected = expected_totals(frame[frame.status == "active"])
    pd.testing.assert_frame_equal(read_output(out), expected, check_dtype=False, check_exact=False)
    assert (out / "_SUCCESS").exists()

    job = job_of(registry, dag_run)
    assert job["status"] == "succeeded"
    (attempt,) = job["attempts"]
    assert (attempt["try_number"], attempt["engine"], attempt["status"]) == (1, "local", "succeeded")
    assert (attempt["rows_in"], attempt["rows_out"]) == (len(frame), len(expected))
    assert attempt["output_path"] == str(out)
    assert attempt["spec"]["input_path"] == str(SAMPLE)
    assert dead_letters_of(registry, job["job_id"]) == []


def test_bad_input_rows_are_quarantined_and_counted_on_the_attempt(dags, registry, tmp_path: Path) -> None:
    source = tmp_path / "with_bad_rows.csv"
    source.write_text(SAMPLE.read_text() + "99,2026-01-01T00:00:00,1,books,active,12.5,DE,surplus\n1,2\n")
    out = tmp_path / "out"
    dag_run = dags.processing.test(run_conf={"input_path": str(source), "output_path": str(out)})
    assert dag_run.state == "success"
    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert (attempt["rows_in"], attempt["bad_rows"]) == (len(pd.read_csv(SAMPLE)) + 2, 2)
    quarantined = (out / "_bad_rows" / "part-0.jsonl").read_text().splitlines()
    assert len(quarantined) == 2 and "surplus" in "".join(quarantined)


def test_templated_paths_and_spec_are_rendered(dags, registry, tmp_path: Path) -> None:
    day = RUN_AFTER.to_date_string()
    (tmp_path / "in").mkdir()
    shutil.copy(SAMPLE, tmp_path / "in" / f"{day}.csv")
    dag_run = dags.templated.test(
        run_after=RUN_AFTER,
        logical_date=None,
        run_conf={"data_dir": str(tmp_path), "status": "pending", "min_amount": 250},
    )
    assert dag_run.state == "success"

    frame = pd.read_csv(SAMPLE)
    expected = expected_totals(frame[(frame.status == "pending") & (frame.amount >= 250)])
    out = tmp_path / "out" / day / "pending"
    pd.testing.assert_frame_equal(read_output(out), expected, check_dtype=False, check_exact=False)

    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert attempt["spec"]["input_path"] == f"{tmp_path}/in/{day}.csv"
    condition = attempt["spec"]["processing_logic"]["transformations"][0]["condition"]
    assert condition == "status = 'pending' AND amount >= 250"


def test_transient_failure_is_retried_as_a_second_attempt_of_the_same_job(dags, registry, tmp_path: Path) -> None:
    (tmp_path / "try1").mkdir()
    (tmp_path / "try1" / "part-0.parquet").write_bytes(CORRUPT_PARQUET)  # the engine fails reading it
    (tmp_path / "try2").mkdir()
    shutil.copy(SAMPLE, tmp_path / "try2" / "part-0.csv")
    dag_run = dags.retried.test(run_conf={"data_dir": str(tmp_path)})
    assert dag_run.state == "success"

    job = job_of(registry, dag_run)
    assert job["status"] == "succeeded"
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "failed"), (2, "succeeded")]
    assert job["attempts"][0]["error_class"] == "InvalidInputException"
    assert "No magic bytes found" in job["attempts"][0]["error_message"]
    decision = job["attempts"][0]["retry_decision"]  # permanent by the table, transient by the job's policy
    assert decision.startswith("InvalidInputException is transient; policy 'in_place_upstream' retries attempt 2 in")
    assert dead_letters_of(registry, job["job_id"]) == []  # a retried failure is not dead-lettered


def test_permanent_errors_fail_at_once_without_retries(dags, registry, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "no-spark.yaml"
    config.write_text("engines:\n  spark:\n    enabled: false\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))
    dag_run = dags.engine_unavailable.test(run_conf={"input_path": str(SAMPLE), "output_path": str(tmp_path / "out")})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # retries=2, but a permanent error burns none
    assert attempt["status"] == "failed"
    assert attempt["error_class"] == "EngineNotAvailableError"
    assert "execution_engine='spark': the spark engine is disabled (engines.spark.enabled)" in attempt["error_message"]
    assert attempt["retry_decision"] == "EngineNotAvailableError is permanent: no retry"
    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["error_class"], letter["status"]) == (1, "EngineNotAvailableError", "open")


def test_missing_input_records_a_failed_attempt(dags, registry, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    dag_run = dags.processing.test(run_conf={"input_path": str(missing), "output_path": str(tmp_path / "out")})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    assert job["status"] == "failed"
    (attempt,) = job["attempts"]
    assert attempt["error_class"] == "InputNotFoundError"
    assert str(missing) in attempt["error_message"]
    assert not (tmp_path / "out").exists()


def test_spec_that_renders_into_a_forbidden_expression_fails_permanently(dags, registry, tmp_path: Path) -> None:
    injected = "x' OR reflect('java.lang.Runtime', 'getRuntime') IS NOT NULL OR status = 'y"
    dag_run = dags.templated.test(run_conf={"data_dir": str(tmp_path), "status": injected})
    assert dag_run.state == "failed"
    (attempt,) = job_of(registry, dag_run)["attempts"]
    assert attempt["error_class"] == "InvalidJobSpec"
    assert "transformations[0] (filter).condition: function 'reflect' is not allowed" in attempt["error_message"]


def test_bad_literal_spec_is_a_dag_import_error(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "bad_dag.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG
            from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator

            with DAG("bad_spec", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
                EnterpriseDataProcessingOperator(
                    task_id="process", job_name="bad", input_path="/in.csv", output_path="/out",
                    processing_logic={"transformations": [
                        {"type": "select", "columns": ["a"]},
                        {"type": "filter", "condition": "a IN (SELECT secret FROM passwords)"},
                    ]},
                )
            """
        )
    )
    bag = DagBag(dag_folder=str(tmp_path))
    assert "bad_spec" not in bag.dags
    (error,) = bag.import_errors.values()
    assert "transformations[1] (filter).condition: Subquery node is not allowed" in error


def test_airflow_tasks_test_runs_the_example_task(airflow_db: str, registry, registry_url: str, tmp_path) -> None:
    """``airflow tasks test`` (try number 0, a temporary run) works with the example DAG."""
    from support.env import airflow_on_examples

    airflow_on_examples(registry_url, tmp_path, "tasks", "test", "enterprise_daily_processing", "process_daily_data")
    (job,) = registry.list_jobs(dag_id="enterprise_daily_processing")
    attempt = registry.get_job(job["job_id"])["attempts"][0]
    assert (attempt["try_number"], attempt["status"], attempt["rows_in"]) == (0, "succeeded", 10_000)
    assert attempt["output_path"].startswith(str(tmp_path / "daily_processing"))


def test_named_policy_retries_with_backoff_then_dead_letters_once(
    dags, registry, tmp_path: Path, capfd, statsd_in_process
) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(CORRUPT_PARQUET)
    dag_run = dags.with_policy.test(run_conf={"input_path": str(bad), "output_path": str(tmp_path / "out")})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    attempts = job["attempts"]
    assert [(a["try_number"], a["status"]) for a in attempts] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert "policy 'fast' retries attempt 2 in" in attempts[0]["retry_decision"]
    assert "policy 'fast' retries attempt 3 in" in attempts[1]["retry_decision"]
    assert attempts[2]["retry_decision"] == (
        "InvalidInputException is transient; policy 'fast' allows 3 attempts, all used"
    )
    # delays: 0.5 s then 1 s, each times a jitter in [0.5, 1)
    gaps = [(b["started_at"] - a["finished_at"]).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.25 and gaps[1] >= 0.5, gaps

    (letter,) = dead_letters_of(registry, job["job_id"])
    assert (letter["try_number"], letter["attempt_count"]) == (3, 3)
    full = DeadLetterQueue(registry).get(letter["dead_letter_id"])
    assert full["spec"]["job_data"]["owner"] == "data-team"
    assert "s3cr3t-value-123" not in str(full)  # the password in job_data is masked
    logs = capfd.readouterr()
    assert "Task failed with exception" in logs.out + logs.err  # the task logs were captured ...
    assert "s3cr3t-value-123" not in logs.out + logs.err  # ... and never show the secret
    assert "InvalidInputException" in full["traceback"]

    sent = statsd_in_process.datagrams("airflow.enterprise.")
    retries = [d for d in sent if d.name == "airflow.enterprise.retries"]
    tags = {"engine": "local", "dag_id": dag_run.dag_id, "error_class": "InvalidInputException"}
    assert [(d.value, d.kind, d.tags) for d in retries] == [("1", "c", tags)] * 2  # tries 1 and 2
    dead = [d for d in sent if d.name == "airflow.enterprise.dead_letters"]
    tags = {"dag_id": dag_run.dag_id, "error_class": "InvalidInputException"}
    assert [(d.value, d.kind, d.tags) for d in dead] == [("1", "c", tags)]
    failed = [d for d in sent if d.name == "airflow.enterprise.jobs"]
    assert [d.tags["status"] for d in failed] == ["failed"] * 3
    assert all("s3cr3t" not in repr(d) for d in sent)  # no secret in any metric


def test_a_job_stopped_before_its_engine_exists_does_not_start(dags, registry, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(SAMPLE.read_text())
    dag_run = dags.killed_early.test(run_conf={"data_dir": str(tmp_path)})
    assert dag_run.state == "failed"
    job = job_of(registry, dag_run)
    (attempt,) = job["attempts"]  # permanent: the retry the task allows is not used
    assert (attempt["status"], attempt["error_class"]) == ("failed", "JobCancelledError")
    assert "stopped before it started" in attempt["error_message"]
    assert not (tmp_path / "out").exists()
    assert DeadLetterQueue(registry).find(dag_id=dag_run.dag_id, run_id=dag_run.run_id) == []
