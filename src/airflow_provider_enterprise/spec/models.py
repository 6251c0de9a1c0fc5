"""
Pydantic models for job specs.

A spec is validated when the DAG is parsed. Values may contain Jinja (``{{ ... }}``): such a spec is
validated with ``allow_templates`` at parse time (templated expressions are checked for shape only) and
validated again in full after Airflow renders it. The transformation vocabulary lives in
:mod:`airflow_provider_enterprise.spec.transformations`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from airflow_provider_enterprise.exceptions import InputNotFoundError
from airflow_provider_enterprise.spec.checks import CHECK_TYPES
from airflow_provider_enterprise.spec.fields import (
    StrictModel,
    check_column_type,
    check_identifier,
    contains_template,
    templates_allowed,
)
from airflow_provider_enterprise.spec.locations import check_location, overlap, scheme_of
from airflow_provider_enterprise.spec.transformations import TRANSFORMATION_TYPES, ProcessingLogic

_Listing = TypeVar("_Listing")


class EngineName(StrEnum):
    """Where a job runs."""

    SPARK = "spark"
    LOCAL = "local"
    AUTO = "auto"


class FileFormat(StrEnum):
    """File formats engines read and write (``json`` is JSON lines: one object per line)."""

    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


_SUFFIX_FORMATS = {
    "csv": FileFormat.CSV,
    "tsv": FileFormat.CSV,
    "txt": FileFormat.CSV,
    "parquet": FileFormat.PARQUET,
    "pq": FileFormat.PARQUET,
    "json": FileFormat.JSON,
    "jsonl": FileFormat.JSON,
    "ndjson": FileFormat.JSON,
}


class Priority(StrEnum):
    """The seed's job priorities."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


class JobType(StrEnum):
    """The seed's job types (any other name is accepted too: it is recorded, not interpreted)."""

    DATA_PROCESSING = "data_processing"
    BATCH_PROCESSING = "batch_processing"
    ETL_PIPELINE = "etl_pipeline"
    DATA_VALIDATION = "data_validation"


#: Airflow's ``priority_weight`` of a job's task, by priority (the scheduler queues heavier tasks first).
PRIORITY_WEIGHTS = {
    Priority.LOW: 1,
    Priority.NORMAL: 5,
    Priority.HIGH: 10,
    Priority.URGENT: 20,
    Priority.CRITICAL: 50,
}


class WriteMode(StrEnum):
    """What happens when the output already exists."""

    OVERWRITE = "overwrite"
    ERROR_IF_EXISTS = "error_if_exists"


class BadRowPolicy(StrEnum):
    """What happens to malformed input rows (see docs/job-spec.md, "Bad rows")."""

    FAIL = "fail"
    DROP = "drop"
    QUARANTINE = "quarantine"


def is_hidden(name: str) -> bool:
    """Return True for a file or directory name readers skip (hidden or ``_``-prefixed, as Spark does)."""
    return name.startswith((".", "_"))


def _data_files(directory: str) -> list[str]:
    """Return the data files under ``directory``, skipping hidden and ``_``-prefixed names as Spark does."""
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not is_hidden(d))
        found.extend(os.path.join(root, f) for f in sorted(files) if not is_hidden(f))
    return found


class InputSpec(StrictModel):
    """
    One input: a file, a directory (every data file below it) or a glob pattern.

    :param path: where to read.
    :param format: ``csv``, ``parquet`` or ``json`` (JSON lines); inferred from the suffix when omitted.
    :param header: CSV only: the first line names the columns.
    :param delimiter: CSV only: the field separator (one character).
    :param quote: CSV only: the quote character (one character).
    :param schema: column name -> type (the ``cast`` types); the columns in file order. Without it DuckDB's
        sniffer infers them from a sample, for the Spark engine too when the task can read the input.
    """

    _listing: tuple[str, list[str]] | None = PrivateAttr(default=None)  # (path, files): see files()
    _objects: tuple[str, Any] | None = PrivateAttr(default=None)  # (path, an object store's listing): see objects()
    path: str = Field(min_length=1)
    format: FileFormat | None = None
    header: bool = True
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    column_types: dict[str, str] | None = Field(default=None, alias="schema", min_length=1)

    model_config = StrictModel.model_config | {"populate_by_name": True}

    _path = field_validator("path")(check_location)

    @field_validator("column_types")
    @classmethod
    def _types(cls, value: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        if value is None:
            return None
        return {check_identifier(name, info): check_column_type(kind) for name, kind in value.items()}

    @model_validator(mode="after")
    def _csv_only(self) -> InputSpec:
        if self.format not in (None, FileFormat.CSV) and (
            not self.header or self.delimiter != "," or self.quote != '"'
        ):
            raise ValueError(f"header, delimiter and quote apply to CSV inputs, not {self.format.value}")
        return self

    def resolved_format(self) -> FileFormat:
        """Return ``format``, or the format named by the path's suffix (a directory's files' suffix)."""
        if self.format is not None:
            return self.format
        candidates = [self.path]
        if os.path.isdir(self.path):  # its files are the run's listing, unless its name reads as a glob pattern
            candidates = (_data_files(self.path) if glob.has_magic(self.path) else self.files())[:1] or candidates
        suffix = candidates[0].rsplit(".", 1)[-1].lower()
        if suffix in _SUFFIX_FORMATS:
            return _SUFFIX_FORMATS[suffix]
        raise ValueError(f"cannot infer the format of input {self.path!r}: set its format")

    def files(self) -> list[str]:
        """
        Return the files this input reads, sorted; a missing path gives an empty list.

        The path is listed once per spec object (a run builds its spec once), so routing, the engine and the
        registry of a run see the same files, and a directory is walked once.
        """
        if self._listing is None or self._listing[0] != self.path:  # a copy with another path lists its own
            self._listing = (self.path, self._list_files())
        return list(self._listing[1])

    def objects(self, list_objects: Callable[[str], _Listing]) -> _Listing:
        """
        Return ``list_objects(path)``, the object store's listing of this input, asked once per spec object as
        :meth:`files` lists a local path once: routing and the engine of a run see the same objects.
        """
        if self._objects is None or self._objects[0] != self.path:
            self._objects = (self.path, list_objects(self.path))
        listing: _Listing = self._objects[1]
        return listing

    def __eq__(self, other: object) -> bool:
        """Equal when the fields are (pydantic's equality would also compare the listing :meth:`files` keeps)."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    def _list_files(self) -> list[str]:
        if glob.has_magic(self.path):
            return sorted(p for p in glob.glob(self.path, recursive=True) if os.path.isfile(p))
        if os.path.isdir(self.path):
            return _data_files(self.path)
        return [self.path] if os.path.isfile(self.path) else []

    def require_files(self, name: str) -> list[str]:
        """Return :meth:`files`; raise :class:`InputNotFoundError` naming input ``name`` when there are none."""
        files = self.files()
        if not files:
            what = "matches no file" if glob.has_magic(self.path) else "does not exist or holds no data file"
            raise InputNotFoundError(f"input {name!r}: {self.path!r} {what}")
        return files


_MEMORY = r"^\d+[kmgtKMGT]?$"


class SparkResources(StrictModel):
    """
    Resources of a job's Spark application; unset fields take the ``engines.spark`` settings.

    :param executor_memory: memory per executor, such as ``"4g"``.
    :param executor_cores: cores per executor.
    :param max_executors: upper bound of dynamic allocation (with shuffle tracking, no external shuffle service).
    :param driver_memory: memory of the driver.
    :param conf: more Spark settings (``spark.*`` keys); they win over the settings' ``conf``.
    """

    executor_memory: str | None = Field(default=None, pattern=_MEMORY)
    executor_cores: int | None = Field(default=None, ge=1)
    max_executors: int | None = Field(default=None, ge=1)
    driver_memory: str | None = Field(default=None, pattern=_MEMORY)
    conf: dict[str, str] = Field(default_factory=dict)

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [key for key in value if not key.startswith("spark.")]
        if bad:
            raise ValueError(f"Spark settings start with 'spark.': {', '.join(map(repr, bad))}")
        return value


#: The name the single ``input_path`` form gives its input.
DEFAULT_INPUT = "input"


class SingleInput(StrictModel):
    """
    The single-input form of a job's inputs: :class:`JobSpec` folds these fields into ``inputs`` as the input
    named ``input`` (:data:`DEFAULT_INPUT`). Declared here so that every place a job is written (the operator,
    the submission form, the CLI, the client) takes their names, defaults and descriptions from one model.
    """

    input_path: str | None = Field(
        default=None,
        min_length=1,
        description="File, directory or glob to read (CSV, Parquet or JSON lines), local or s3://, gs://, abfs://.",
    )
    input_format: FileFormat | None = Field(
        default=None, description="csv, parquet or json (JSON lines); inferred from the suffix when omitted."
    )
    input_options: dict[str, Any] | None = Field(
        default=None, description="Options of input_path: schema, and for CSV header, delimiter and quote."
    )


class JobSpec(StrictModel):
    """
    Everything an engine needs to run one job.

    Inputs come in two forms: ``input_path`` (+ ``input_format``, ``input_options``) names one input called
    ``input``; ``inputs`` maps names to paths or :class:`InputSpec` fields. Both may be given: the
    transformations start from ``input_path``'s input, or from the first of ``inputs``, and joins and unions
    name the others. Paths are local paths or URIs of an object store (``s3://``, ``gs://``, ``abfs://``), read
    and written through Airflow connection ``storage_conn_id`` (default: the store's usual connection, such as
    ``aws_default``).
    """

    job_name: str = Field(min_length=1, max_length=200, description="Name of the job, shown in the registry.")
    job_type: str = Field(
        default=JobType.DATA_PROCESSING.value,
        description="The job's type: " + ", ".join(t.value for t in JobType) + ", or another name.",
    )
    job_data: dict[str, Any] = Field(default_factory=dict, description="Free-form data recorded with the job.")
    execution_engine: EngineName = Field(
        default=EngineName.AUTO, description="local (DuckDB), spark, or auto (routed by input size and Spark's health)."
    )
    priority: Priority = Field(default=Priority.NORMAL, description="Airflow's priority weight of the task follows it.")
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds before the job is interrupted (empty: no limit)."
    )
    inputs: dict[str, InputSpec] = Field(
        min_length=1, description="Inputs by name, for joins and unions: a path or the fields of an InputSpec."
    )
    primary_input: str = Field(
        description="The input the transformations start from (default: input_path's, else the first of inputs)."
    )
    output_path: str = Field(
        min_length=1, description="Directory (or object-store prefix) to write; replaced atomically on success."
    )
    output_format: FileFormat = Field(default=FileFormat.PARQUET, description="parquet, csv or json (JSON lines).")
    partition_by: list[str] = Field(
        default_factory=list, description="Columns whose values name the output's subdirectories (col=value/)."
    )
    mode: WriteMode = Field(
        default=WriteMode.OVERWRITE,
        description="overwrite (replace the output atomically) or error_if_exists (refused before any data is read).",
    )
    on_bad_rows: BadRowPolicy = Field(
        default=BadRowPolicy.QUARANTINE,
        description="Malformed input rows: quarantine (kept beside the output), drop (counted) or fail.",
    )
    processing_logic: ProcessingLogic = Field(
        default_factory=ProcessingLogic,
        description='The transformations: {"transformations": [{"type": "filter", "condition": "..."}, ...]}',
    )
    spark_resources: SparkResources = Field(
        default_factory=SparkResources, description="Resources of the job's Spark application."
    )
    storage_conn_id: str | None = Field(
        default=None,
        min_length=1,
        description="Airflow connection of the object store URIs name (empty: aws_default for s3:// ...).",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_input_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        inputs = {
            name: {"path": value} if isinstance(value, str) else value
            for name, value in (data.get("inputs") or {}).items()
        }
        options = data.pop("input_options", None) or {}
        input_path = data.pop("input_path", None)
        input_format = data.pop("input_format", None)
        if input_path is not None:
            if DEFAULT_INPUT in inputs:
                raise ValueError(f"inputs must not be named {DEFAULT_INPUT!r} when input_path is given")
            inputs = {DEFAULT_INPUT: {**options, "path": input_path, "format": input_format}, **inputs}
        elif options or input_format:
            raise ValueError("input_format and input_options need input_path (with inputs, set them per input)")
        if not inputs:
            raise ValueError("a job needs input_path or inputs")
        data["inputs"] = inputs
        data.setdefault("primary_input", DEFAULT_INPUT if input_path is not None else next(iter(inputs)))
        return data

    @field_validator("execution_engine", mode="wrap")
    @classmethod
    def _engine(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        """A templated engine (``{{ params.engine }}``) is checked once Airflow has rendered it."""
        if isinstance(value, str) and templates_allowed(info, value):
            return value
        return handler(value)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputSpec], info: ValidationInfo) -> dict[str, InputSpec]:
        for name in value:
            check_identifier(name, info)
        return value

    _output_path = field_validator("output_path")(check_location)

    @field_validator("partition_by")
    @classmethod
    def _partition_by(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [check_identifier(c, info) for c in value]

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        if self.primary_input not in self.inputs:
            raise ValueError(f"primary_input {self.primary_input!r} is not one of the inputs")
        for name, source in self.inputs.items():
            if contains_template(source.path) or contains_template(self.output_path):
                continue  # compared once Airflow has rendered the paths
            if relation := overlap(source.path, self.output_path):
                harm = (
                    "the next run would read the output back as input"
                    if relation == "lies inside"
                    else "replacing the output would delete data the job did not write"
                )
                raise ValueError(
                    f"output_path {self.output_path!r} {relation} input {name!r} ({source.path!r}) once both are "
                    f"resolved: {harm}; choose an output outside every input"
                )
        if self.processing_logic.checkpoint and scheme_of(self.output_path):
            raise ValueError(
                "processing_logic.checkpoint needs a local output_path: stage checkpoints are committed beside the "
                f"output, and {self.output_path!r} is in an object store"
            )
        unknown = [c.check_name for c in self.processing_logic.checks if c.input and c.input not in self.inputs]
        if unknown:
            raise ValueError(
                f"checks {', '.join(unknown)} name inputs that are not defined (inputs: {', '.join(self.inputs)})"
            )
        missing = [n for n in self.processing_logic.named_inputs() if n not in self.inputs]
        if missing:
            known = ", ".join(self.inputs)
            raise ValueError(
                f"transformations name inputs that are not defined: {', '.join(missing)} (inputs: {known})"
            )
        return self

    @property
    def input_path(self) -> str:
        """The primary input's path."""
        return self.inputs[self.primary_input].path

    def input_locations(self, records: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
        """Return each input's name and path (and ``records`` read, when given), for the audit trail."""
        return [
            {"name": name, "path": source.path, **({"records": records[name]} if records and name in records else {})}
            for name, source in self.inputs.items()
        ]

    def resolved_input_format(self) -> FileFormat:
        """Return the primary input's format."""
        return self.inputs[self.primary_input].resolved_format()


def job_fields() -> dict[str, FieldInfo]:
    """
    Every field a job is written with, by name: :class:`SingleInput`'s, then :class:`JobSpec`'s.

    The one list of the job's fields: the operator's parameters and its spec data, the generic job DAG's params,
    the CLI's options and the client's ``Job`` take their names, defaults and descriptions from it.
    """
    return {**SingleInput.model_fields, **JobSpec.model_fields}


def job_defaults() -> dict[str, Any]:
    """Each job field's default as plain data (enums as their values, models as dicts); required fields have none."""
    return {
        name: to_jsonable_python(info.get_default(call_default_factory=True))
        for name, info in job_fields().items()
        if not info.is_required()
    }


class InvalidJobSpec(ValueError):
    """A job spec that failed validation; the message names each bad field and value."""


def _format_location(loc: tuple[Any, ...], data: Any) -> str:
    """``processing_logic.transformations[2] (filter).condition``; a check is named by its ``name`` when it has one."""
    parts: list[str] = []
    for item in loc:
        data = (
            data.get(item)
            if isinstance(data, dict)
            else data[item]
            if isinstance(item, int) and isinstance(data, list) and item < len(data)
            else None
        )
        if isinstance(item, int):
            named = data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else None
            parts.append(f"[{item}]" + (f" {named!r}" if named else ""))
        elif parts and parts[-1].startswith("[") and item in (*TRANSFORMATION_TYPES, *CHECK_TYPES):
            parts.append(f" ({item})")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def validate_job_spec(data: dict[str, Any], *, allow_templates: bool = False) -> JobSpec:
    """
    Validate ``data`` as a :class:`JobSpec`.

    :param data: the spec as plain data.
    :param allow_templates: accept values holding Jinja, checking them after rendering instead.
    :raises InvalidJobSpec: naming each bad field, the transformation index and the bad value.
    """
    if not isinstance(data, Mapping):
        raise InvalidJobSpec(f"invalid job spec: a spec is a mapping of fields, not {type(data).__name__}")
    try:
        return JobSpec.model_validate(data, context={"allow_templates": allow_templates})
    except ValidationError as err:
        lines = []
        for error in err.errors():
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            shown = "" if isinstance(value, dict | list) or repr(value) in message else f" (got {value!r})"
            where = _format_location(error["loc"], data)
            lines.append(f"{where}: {message}{shown}" if where else f"{message}{shown}")
        raise InvalidJobSpec(f"invalid job spec {data.get('job_name', '')!r}:\n  " + "\n  ".join(lines)) from None
