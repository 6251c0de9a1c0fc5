"""
A job submitted without writing a DAG: the fields of a submission, the seed's job types, and the JSON Schema
the generic job DAG's trigger form is made from.

A submission is the data of :class:`~airflow_provider_enterprise.spec.models.JobSpec` in its single-input form
(``input_path``), validated by the same model wherever it is checked: by the CLI and the client before
anything is posted, by Airflow against the form's schema, and by the run's task with the full expression check.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from airflow_provider_enterprise.spec.models import InvalidJobSpec, JobSpec, validate_job_spec


class JobType(StrEnum):
    """The seed's job types (any other name is accepted too: it is recorded, not interpreted)."""

    DATA_PROCESSING = "data_processing"
    BATCH_PROCESSING = "batch_processing"
    ETL_PIPELINE = "etl_pipeline"
    DATA_VALIDATION = "data_validation"


#: The generic job DAG that runs submissions (one run a job) and its one task: the client, the CLI and the
#: queue-fed DAG address it by these ids.
JOB_DAG_ID = "enterprise_job"
JOB_TASK_ID = "run_job"

#: The fields of a submission, in the order the trigger form shows them.
SUBMISSION_FIELDS = (
    "job_name",
    "job_type",
    "execution_engine",
    "priority",
    "input_path",
    "output_path",
    "processing_logic",
    "job_data",
    "timeout",
    "output_format",
    "on_bad_rows",
    "storage_conn_id",
)
REQUIRED_FIELDS = ("job_name", "input_path", "output_path")

_DESCRIPTIONS = {
    "job_name": "Name of the job, shown in the registry.",
    "job_type": "The job's type: " + ", ".join(t.value for t in JobType) + ", or another name.",
    "execution_engine": "local (DuckDB), spark, or auto (routed by input size and Spark's health).",
    "priority": "Airflow's priority weight of the task follows it.",
    "input_path": "File, directory or glob to read (CSV, Parquet or JSON lines), local or s3://, gs://, abfs://.",
    "output_path": "Directory (or object-store prefix) to write; replaced atomically on success.",
    "processing_logic": 'The transformations: {"transformations": [{"type": "filter", "condition": "..."}, ...]}',
    "job_data": "Free-form data recorded with the job.",
    "timeout": "Seconds before the job is interrupted (empty: no limit).",
    "output_format": "parquet, csv or json (JSON lines).",
    "on_bad_rows": "Malformed input rows: quarantine (kept beside the output), drop (counted) or fail.",
    "storage_conn_id": "Airflow connection of the object store URIs name (empty: aws_default for s3:// ...).",
}


def _inline_enums(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Replace a ``$ref`` to an enum by the enum itself (the trigger form shows a list for it)."""
    ref = schema.get("$ref", "")
    target = defs.get(ref.removeprefix("#/$defs/")) if ref else None
    if target is not None and "enum" in target:
        schema = {k: v for k, v in schema.items() if k != "$ref"}
        return {"type": "string", "enum": target["enum"], **schema}
    return schema


def submission_schema() -> dict[str, dict[str, Any]]:
    """Return each submission field's JSON Schema (for the generic DAG's ``Param`` objects)."""
    model = JobSpec.model_json_schema()
    defs = model["$defs"]
    properties = model["properties"]
    schemas: dict[str, dict[str, Any]] = {
        "input_path": {"type": "string", "minLength": 1},
        "output_path": {"type": "string", "minLength": 1},
    }
    for name in SUBMISSION_FIELDS:
        if name in schemas:
            continue
        schema = _inline_enums(copy.deepcopy(properties[name]), defs)
        schema.pop("title", None)
        schema.pop("default", None)
        if name == "processing_logic":
            schema = {"type": "object", "$ref": "#/$defs/ProcessingLogic", "$defs": defs}
        schemas[name] = schema
    for name, schema in schemas.items():
        schema["description"] = _DESCRIPTIONS[name]
    return {name: schemas[name] for name in SUBMISSION_FIELDS}


def submission_defaults() -> dict[str, Any]:
    """The form's initial values (JobSpec's defaults; None for the required fields, which have none)."""
    fields = JobSpec.model_fields
    defaults: dict[str, Any] = {
        **{name: None for name in REQUIRED_FIELDS},
        "job_type": JobType.DATA_PROCESSING.value,
        "execution_engine": "auto",
        "priority": fields["priority"].default.value,
        "processing_logic": {"transformations": []},
        "job_data": {},
        "timeout": None,
        "output_format": fields["output_format"].default.value,
        "on_bad_rows": fields["on_bad_rows"].default.value,
        "storage_conn_id": None,
    }
    return {name: defaults[name] for name in SUBMISSION_FIELDS}


def validate_submission(data: dict[str, Any]) -> JobSpec:
    """
    Validate a submission with the models every engine uses.

    :raises InvalidJobSpec: naming each bad or unknown field.
    """
    unknown = sorted(set(data) - set(SUBMISSION_FIELDS))
    if unknown:
        raise InvalidJobSpec(
            f"invalid job spec {data.get('job_name', '')!r}:\n  unknown field(s) {', '.join(unknown)};"
            f" a submission has {', '.join(SUBMISSION_FIELDS)}"
        )
    return validate_job_spec({k: v for k, v in data.items() if v is not None})
