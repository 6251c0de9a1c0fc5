"""Tests for job_dag.py: the generic job DAG's shape and params form, built without running it (runs: tests/stack)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import ParamValidationError

from airflow_provider_enterprise.clients import jobs as client
from airflow_provider_enterprise.operators import job_dag
from airflow_provider_enterprise.operators.job_dag import JOB_DAG_ID, JOB_TASK_ID, build_job_dag
from airflow_provider_enterprise.spec.submission import REQUIRED_FIELDS, submission_defaults, submission_schema


@pytest.fixture(scope="module")
def dag():
    return build_job_dag()


def test_the_client_names_the_same_dag_and_task() -> None:
    assert (client.JOB_DAG_ID, client.JOB_TASK_ID) == (JOB_DAG_ID, JOB_TASK_ID)  # one source: spec.submission


def test_one_unpaused_task_that_runs_only_what_is_submitted(dag) -> None:
    assert dag.dag_id == JOB_DAG_ID
    assert [task.task_id for task in dag.tasks] == [JOB_TASK_ID]
    assert type(dag.tasks[0]).__name__ == "EnterpriseSubmittedJobOperator"
    assert dag.schedule is None
    assert dag.is_paused_upon_creation is False
    assert set(dag.tags) == {"enterprise", "submitted-jobs"}
    assert build_job_dag("team_jobs", tags=["team"]).tags == {"team"}  # the caller's DAG arguments win


def test_the_params_form_is_the_submission_fields(dag) -> None:
    params = dag.params
    assert set(params.keys()) == set(submission_schema())
    defaults = submission_defaults()
    for name in submission_schema():
        if name in REQUIRED_FIELDS:
            assert not params.get_param(name).has_value, name  # the form and the REST API require it
        else:
            assert params[name] == defaults[name], name
    with pytest.raises(ParamValidationError, match="No value passed and Param has no default value"):
        params.validate()


def test_the_installed_dag_file_builds_this_dag() -> None:
    namespace: dict = {}
    exec(compile(job_dag.DAG_FILE, "enterprise_job.py", "exec"), namespace)
    assert namespace["dag"].dag_id == JOB_DAG_ID
    assert "airflow" in job_dag.DAG_FILE and "dag" in job_dag.DAG_FILE  # what Airflow's safe mode looks for
