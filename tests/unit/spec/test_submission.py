"""A submission: the trigger form's schema, its defaults, and the models' check of what the schema passes."""

from __future__ import annotations

import jsonschema
import pytest

from airflow_provider_enterprise.clients.jobs import Job, run_id_for
from airflow_provider_enterprise.spec import InvalidJobSpec
from airflow_provider_enterprise.spec.submission import (
    REQUIRED_FIELDS,
    SUBMISSION_FIELDS,
    submission_defaults,
    submission_schema,
    validate_submission,
)

GOOD = {"job_name": "daily", "input_path": "/in.csv", "output_path": "/out"}


def test_every_default_fits_its_schema_and_required_fields_have_none() -> None:
    schemas, defaults = submission_schema(), submission_defaults()
    assert tuple(schemas) == tuple(defaults) == SUBMISSION_FIELDS
    for name, value in defaults.items():
        if name in REQUIRED_FIELDS:
            assert value is None
        else:
            jsonschema.validate(value, schemas[name])


def test_the_schema_refuses_what_the_form_must_refuse() -> None:
    schemas = submission_schema()
    for name, value in [("execution_engine", "gpu"), ("priority", "asap"), ("timeout", -1), ("job_name", "")]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, schemas[name])
    with pytest.raises(jsonschema.ValidationError, match="is not valid under any of the given schemas"):
        jsonschema.validate({"transformations": [{"type": "nope"}]}, schemas["processing_logic"])


def test_the_models_refuse_what_json_schema_cannot_judge() -> None:
    logic = {"transformations": [{"type": "filter", "condition": "reflect('java.lang.Runtime', 'exec')"}]}
    jsonschema.validate(logic, submission_schema()["processing_logic"])  # a string is a string to JSON Schema
    with pytest.raises(InvalidJobSpec, match=r"transformations\[0\] \(filter\).condition: function 'reflect'"):
        validate_submission({**GOOD, "processing_logic": logic})
    with pytest.raises(InvalidJobSpec, match="unknown field"):
        validate_submission({**GOOD, "engine": "spark"})
    assert validate_submission(GOOD).job_name == "daily"


def test_a_job_in_the_v1_vocabulary_becomes_the_runs_conf() -> None:
    conf = Job(**GOOD, job_type="etl_pipeline", priority="urgent", execution_engine="spark").conf()
    assert conf["job_type"] == "etl_pipeline" and conf["priority"] == "urgent" and "timeout" not in conf
    with pytest.raises(InvalidJobSpec, match="priority"):
        Job(**GOOD, priority="asap").conf()
    assert run_id_for("batch-2026-03-14") == "job__batch-2026-03-14"
    assert run_id_for(None) != run_id_for(None)
    with pytest.raises(ValueError, match="idempotency key"):
        run_id_for("no spaces allowed")
