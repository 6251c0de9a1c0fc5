"""
The job's fields have one source, :func:`~airflow_provider_enterprise.spec.models.job_fields` (JobSpec's fields and
the single-input form's): the operator's parameters and spec data, the generic job DAG's params form, the CLI's
options and the client's ``Job`` must agree with it on names, defaults, types and descriptions. Each test here
fails when one of them drifts (a field added to JobSpec and not to the operator, a default changed in one place).
"""

from __future__ import annotations

import inspect
import json
import warnings
from enum import Enum
from pathlib import Path
from typing import Any, get_args

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import DAG

from airflow_provider_enterprise import cli
from airflow_provider_enterprise.clients.jobs import Job
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.operators.job_dag import build_job_dag
from airflow_provider_enterprise.spec import validate_job_spec
from airflow_provider_enterprise.spec.models import job_defaults, job_fields
from airflow_provider_enterprise.spec.submission import REQUIRED_FIELDS, SUBMISSION_FIELDS
from support.json_server import Received, json_server

#: The operator's one default that is not JobSpec's, and why: a DAG author's task runs in its worker unless it
#: names another engine, while a submission (form, CLI, client) is routed.
OPERATOR_OWN_DEFAULTS = {"execution_engine": "local"}

#: Every field set, each to a value other than its default: what the operator must hand to JobSpec unchanged.
EVERY_FIELD: dict[str, Any] = {
    "input_path": "/data/in.csv",
    "input_format": "csv",
    "input_options": {"delimiter": ";"},
    "job_name": "every_field",
    "job_type": "etl_pipeline",
    "job_data": {"team": "sales"},
    "execution_engine": "auto",
    "priority": "high",
    "timeout": 60.0,
    "inputs": {"customers": "/data/customers.parquet"},
    "primary_input": "customers",
    "output_path": "/data/out",
    "output_format": "csv",
    "partition_by": ["day"],
    "mode": "error_if_exists",
    "on_bad_rows": "drop",
    "processing_logic": {"transformations": [{"type": "filter", "condition": "amount > 0"}]},
    "spark_resources": {"executor_cores": 2},
    "storage_conn_id": "lake",
}


def _choices(name: str) -> list[str] | None:
    """The values field ``name`` accepts when its type is an enum (or an optional one)."""
    annotation = job_fields()[name].annotation
    for kind in (annotation, *get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, Enum):
            return [member.value for member in kind]
    return None


def test_every_field_is_an_operator_parameter_with_jobspecs_default() -> None:
    parameters = inspect.signature(EnterpriseDataProcessingOperator.__init__).parameters
    defaults = job_defaults()
    assert set(EVERY_FIELD) == set(job_fields())  # this test sets every field
    for name in job_fields():
        assert name in parameters, f"JobSpec's {name!r} is not a parameter of the operator"
        default = parameters[name].default
        if name in OPERATOR_OWN_DEFAULTS:
            assert default == OPERATOR_OWN_DEFAULTS[name] != defaults[name]
        elif name in defaults:
            # None leaves the field out of the spec data, so JobSpec's default applies
            assert default is None or default == defaults[name], name
        elif name in ("inputs", "primary_input"):  # required by JobSpec, which makes them from input_path
            assert default is None, name
        else:
            assert default is inspect.Parameter.empty, f"{name} is required by JobSpec"


def test_the_operators_spec_data_is_every_field_as_given() -> None:
    operator = EnterpriseDataProcessingOperator(task_id="every_field", **EVERY_FIELD)
    data = operator._spec_data()
    assert data == EVERY_FIELD
    spec = validate_job_spec(data)
    assert (spec.primary_input, spec.mode, spec.inputs["input"].delimiter) == ("customers", "error_if_exists", ";")


def test_an_operator_of_defaults_makes_jobspecs_defaults() -> None:
    required = {"job_name": "defaults", "input_path": "/data/in.csv", "output_path": "/data/out"}
    operator = EnterpriseDataProcessingOperator(task_id="defaults", **required)
    from_operator = validate_job_spec(operator._spec_data())
    from_spec = validate_job_spec(required)
    differing = {
        name for name in type(from_spec).model_fields if getattr(from_operator, name) != getattr(from_spec, name)
    }
    assert differing == set(OPERATOR_OWN_DEFAULTS)


def test_write_mode_is_the_deprecated_name_of_mode() -> None:
    fields = {"job_name": "old", "input_path": "/data/in.csv", "output_path": "/data/out"}
    with pytest.warns(AirflowProviderDeprecationWarning, match="`write_mode` is deprecated.*Use `mode` instead"):
        operator = EnterpriseDataProcessingOperator(task_id="old", write_mode="error_if_exists", **fields)
    assert operator.mode == "error_if_exists" and operator._spec_data()["mode"] == "error_if_exists"
    with pytest.raises(ValueError, match="give mode, or its deprecated name write_mode, not both"):
        EnterpriseDataProcessingOperator(task_id="both", mode="overwrite", write_mode="error_if_exists", **fields)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # mode itself warns nothing
        assert EnterpriseDataProcessingOperator(task_id="new", **fields).mode == job_defaults()["mode"]


def test_a_dags_default_mode_for_its_sensors_is_not_a_write_mode() -> None:
    fields = {"job_name": "in_a_dag", "input_path": "/data/in.csv", "output_path": "/data/out"}
    with DAG("sensors_reschedule", schedule=None, default_args={"mode": "reschedule"}):
        assert EnterpriseDataProcessingOperator(task_id="job", **fields).mode == job_defaults()["mode"]
    with DAG("jobs_keep_outputs", schedule=None, default_args={"mode": "error_if_exists"}):
        assert EnterpriseDataProcessingOperator(task_id="job", **fields).mode == "error_if_exists"


def test_the_params_form_has_each_submission_fields_default_type_and_description() -> None:
    params = build_job_dag().params
    defaults = job_defaults()
    assert list(params.keys()) == list(SUBMISSION_FIELDS)
    for name in SUBMISSION_FIELDS:
        param = params.get_param(name)
        assert param.description == job_fields()[name].description, name
        assert param.schema.get("enum") == _choices(name), name
        if name in REQUIRED_FIELDS:
            assert not param.has_value, name
        else:
            assert param.value == defaults[name], name


def _submit_options() -> dict[str, Any]:
    """The field options of ``jobs submit``, by field name."""
    parser = cli.build_parser()
    parser.parse_args(["jobs", "submit", "spec.yaml"])  # using the command adds its field options
    jobs = next(a for a in parser._actions if a.dest == "command").choices["jobs"]
    submit = next(a for a in jobs._actions if a.dest == "jobs_command").choices["submit"]
    return {a.dest.removeprefix("field_"): a for a in submit._actions if a.dest.startswith("field_")}


def test_the_cli_has_an_option_per_submission_field() -> None:
    options = _submit_options()
    assert list(options) == list(SUBMISSION_FIELDS)
    for name, action in options.items():
        assert action.help.startswith(job_fields()[name].description), name
        assert action.choices == _choices(name), name
        assert action.default is None, name  # unset: the spec file's value, else JobSpec's default
    assert options["timeout"].option_strings == ["--job-timeout"]  # --timeout is how long --wait waits
    assert options["timeout"].type is float and options["job_name"].option_strings == ["--job-name"]


def test_the_cli_submits_the_fields_given_as_options_over_the_spec_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    posted: list[Received] = []

    def airflow(request: Received) -> tuple[int, Any]:
        posted.append(request)
        return 200, {"dag_run_id": request.body["dag_run_id"], "state": "queued"}

    spec = tmp_path / "job.yaml"
    spec.write_text("job_name: from_file\ninput_path: /data/in.csv\noutput_path: /data/out\npriority: low\n")
    logic = {"transformations": [{"type": "filter", "condition": "amount > 0"}]}
    with json_server(airflow) as server:
        monkeypatch.setenv("AIRFLOW_API_URL", server.url)
        monkeypatch.setenv("AIRFLOW_API_TOKEN", "jwt")
        argv = ["jobs", "submit", str(spec), "--priority", "high", "--job-timeout", "30"]
        assert cli.main([*argv, "--processing-logic", json.dumps(logic)]) == cli.EXIT_OK
        only_options = ["--job-name", "n", "--input-path", "/data/in.csv", "--output-path", "/data/out"]
        assert cli.main(["jobs", "submit", *only_options]) == cli.EXIT_OK
        assert cli.main(["jobs", "submit", "--job-name", "n", "--input-path", "/data/in.csv"]) == cli.EXIT_USAGE
    conf = posted[0].body["conf"]
    assert (conf["job_name"], conf["priority"], conf["timeout"], conf["processing_logic"]) == (
        "from_file",
        "high",
        30.0,
        logic,
    )
    assert posted[1].body["conf"]["job_name"] == "n" and len(posted) == 2
    assert "output_path" in capsys.readouterr().err  # the missing field is named; nothing was posted


def test_the_clients_job_has_the_submission_fields_and_defaults() -> None:
    defaults = job_defaults()
    fields = Job.model_fields
    assert set(fields) == set(SUBMISSION_FIELDS)
    for name, info in fields.items():
        if name in REQUIRED_FIELDS:
            assert info.is_required(), name
        else:
            assert info.get_default(call_default_factory=True) == defaults[name], name
