"""The contract every execution engine fulfils."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from airflow_provider_enterprise.spec import JobSpec


@dataclass(frozen=True)
class JobResult:
    """What an engine reports about a finished job."""

    engine: str
    output_path: str
    rows_in: int
    rows_out: int
    duration_seconds: float
    output_files: list[str] = field(default_factory=list)
    external_id: str | None = None
    resumed_after_stage: int | None = None
    bad_rows: int = 0
    bad_rows_path: str | None = None
    input_records: dict[str, int] = field(default_factory=dict)  # records read, by input name
    input_columns: dict[str, list[list[str | None]]] = field(default_factory=dict)  # [name, type], as planned
    checks: list[dict[str, Any]] = field(default_factory=list)  # the data-quality checks' results (CheckResult)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain data (for XCom and the registry)."""
        return asdict(self)


class Engine(Protocol):
    """Runs a job spec to completion and commits its output."""

    name: str

    def run(self, spec: JobSpec) -> JobResult:
        """Run ``spec``; raise on failure, leaving no partial output at ``spec.output_path``."""
        ...
