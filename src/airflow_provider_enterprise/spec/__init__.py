"""The engine-neutral job model: what users write, validated without Airflow or an engine."""

from airflow_provider_enterprise.spec.models import (
    Aggregation,
    EngineName,
    FileFormat,
    FilterTransformation,
    GroupByTransformation,
    InvalidJobSpec,
    JobSpec,
    Priority,
    ProcessingLogic,
    SelectTransformation,
    Transformation,
    contains_template,
    validate_job_spec,
)

__all__ = [
    "Aggregation",
    "EngineName",
    "FileFormat",
    "FilterTransformation",
    "GroupByTransformation",
    "InvalidJobSpec",
    "JobSpec",
    "Priority",
    "ProcessingLogic",
    "SelectTransformation",
    "Transformation",
    "contains_template",
    "validate_job_spec",
]
