"""
A job submitted without writing a DAG: the fields of a submission (a selection of the job's fields, with their
defaults and descriptions), and the JSON Schema the generic job DAG's trigger form is made from.

A submission is the data of :class:`~airflow_provider_enterprise.spec.models.JobSpec` in its single-input form
(``input_path``), validated by the same model wherever it is checked: by the CLI and the client before
anything is posted, by Airflow against the form's schema, and by the run's task with the full expression check.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_enterprise.spec.models import (
    InvalidJobSpec,
    JobSpec,
    JobType,
    SingleInput,
    job_defaults,
    job_fields,
    validate_job_spec,
)

__all__ = [
    "JOB_DAG_ID",
    "JOB_TASK_ID",
    "REQUIRED_FIELDS",
    "SUBMISSION_FIELDS",
    "JobType",
    "submission_defaults",
    "submission_schema",
    "validate_submission",
]


#: The generic job DAG that runs submissions (one run a job) and its one task: the client, the CLI and the
#: queue-fed DAG address it by these ids.
JOB_DAG_ID = "enterprise_job"
JOB_TASK_ID = "run_job"

#: The job fields (:func:`~airflow_provider_enterprise.spec.models.job_fields`) a submission may give, in the
#: order the trigger form shows them: the single-input form, without Spark resources or partitioning.
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
#: The fields a submission must give: the primary input's path, and what :class:`JobSpec` requires.
REQUIRED_FIELDS = tuple(name for name in SUBMISSION_FIELDS if name == "input_path" or job_fields()[name].is_required())


def _inline_enums(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Replace a ``$ref`` to an enum by the enum itself (the trigger form shows a list for it)."""
    ref = schema.get("$ref", "")
    target = defs.get(ref.removeprefix("#/$defs/")) if ref else None
    if target is not None and "enum" in target:
        schema = {k: v for k, v in schema.items() if k != "$ref"}
        return {"type": "string", "enum": target["enum"], **schema}
    return schema


def submission_schema() -> dict[str, dict[str, Any]]:
    """Return each submission field's JSON Schema, with its description (for the generic DAG's ``Param`` objects)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in (SingleInput, JobSpec):
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        for name, field in schema["properties"].items():
            if name not in SUBMISSION_FIELDS:
                continue
            field = _inline_enums(copy.deepcopy(field), defs)
            field.pop("title", None)
            field.pop("default", None)
            if name == "processing_logic":
                field = {"type": "object", "$ref": "#/$defs/ProcessingLogic", "$defs": defs}
            elif name == "input_path":  # required in a submission, which has no other input
                field = field["anyOf"][0]
            schemas[name] = {**field, "description": job_fields()[name].description}
    return {name: schemas[name] for name in SUBMISSION_FIELDS}


def submission_defaults() -> dict[str, Any]:
    """The form's initial values: the job fields' defaults (:func:`job_defaults`), None for the required fields."""
    defaults = job_defaults()
    return {name: None if name in REQUIRED_FIELDS else defaults[name] for name in SUBMISSION_FIELDS}


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
