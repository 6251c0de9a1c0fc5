"""Request parameters and response bodies of the plugin API (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatus = Literal["registered", "running", "succeeded", "failed"]
AttemptStatus = Literal["running", "succeeded", "failed"]
DeadLetterStatus = Literal["open", "replayed", "superseded", "discarded"]
BreakerStateName = Literal["closed", "open", "half_open"]


class Page(BaseModel):
    """A page of a listing: ``total_entries`` counts every match, not just this page."""

    total_entries: int


class Job(BaseModel):
    """A job: one task of one DAG run, with the status of its latest attempt."""

    job_id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    job_name: str
    job_type: str
    priority: str
    status: JobStatus
    latest_try_number: int | None
    attempt_count: int
    created_at: datetime


class CheckResult(BaseModel):
    """One data-quality check of an attempt: what it measured and its verdict."""

    name: str
    type: str
    severity: Literal["warn", "fail"]
    target: str = Field(description="What was checked: output, or input:<name>.")
    outcome: Literal["passed", "warned", "failed"]
    observed: Any = Field(description="The measured value: failing rows, rows, the newest value, the columns.")
    failing_rows: int | None
    message: str


class Attempt(BaseModel):
    """One try of a job: where it ran, what it read and wrote, how it ended."""

    attempt_id: int
    try_number: int
    status: AttemptStatus
    engine: str | None
    external_id: str | None
    hostname: str | None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    rows_in: int | None
    rows_out: int | None
    bad_rows: int | None
    output_path: str | None
    error_class: str | None
    error_message: str | None
    retry_decision: str | None
    routing: dict[str, Any] | None
    spec: dict[str, Any] | None = Field(description="The rendered job spec, with secrets masked.")
    checks: list[CheckResult] = Field(default_factory=list, description="Its data-quality checks, in spec order.")


class JobDetail(Job):
    attempts: list[Attempt]


class JobList(Page):
    jobs: list[Job]


class DeadLetter(BaseModel):
    """The final failure of a job, kept until it is replayed, superseded or discarded."""

    dead_letter_id: int
    job_id: int
    try_number: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    error_class: str
    error_message: str
    attempt_count: int
    first_failure_at: datetime
    last_failure_at: datetime
    status: DeadLetterStatus
    replay_run_id: str | None
    created_at: datetime


class DeadLetterDetail(DeadLetter):
    spec: dict[str, Any] | None = Field(description="The failed attempt's rendered spec, with secrets masked.")
    traceback: str | None
    replayed_at: datetime | None
    resolved_at: datetime | None


class DeadLetterList(Page):
    dead_letters: list[DeadLetter]


class AuditInput(BaseModel):
    """An input an attempt read: its name in the spec, its path and, once it succeeded, the records read."""

    name: str
    path: str
    records: int | None = None


class AuditEvent(BaseModel):
    """One finished attempt, as the audit trail keeps it (append-only)."""

    audit_id: int
    attempt_id: int
    job_id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    job_name: str
    triggered_by: str = Field(description="The user who triggered the DAG run, or its run type (scheduled, ...).")
    run_type: str | None
    engine: str | None
    hostname: str | None
    inputs: list[AuditInput]
    rows_in: int | None
    output_path: str | None
    rows_out: int | None
    bad_rows: int | None
    started_at: datetime
    finished_at: datetime
    outcome: AttemptStatus
    error_class: str | None
    recorded_at: datetime


class AuditList(Page):
    audit_events: list[AuditEvent]


class Replay(BaseModel):
    """The DAG run that replays a dead letter (``created`` is false when an earlier replay made it)."""

    dead_letter_id: int
    dag_id: str
    run_id: str
    created: bool


class Circuit(BaseModel):
    """A circuit breaker shared by every worker."""

    name: str
    state: BreakerStateName
    consecutive_failures: int
    total_failures: int
    total_successes: int
    opened_at: float | None = Field(description="Epoch seconds of the last opening, while not closed.")
    updated_at: float


class CircuitList(BaseModel):
    circuits: list[Circuit]


class ComponentHealth(BaseModel):
    """``unknown`` when the component could not be asked (no API for its kind, or the API refused to answer)."""

    status: Literal["healthy", "unhealthy", "unknown"]
    detail: str


class CircuitSummary(BaseModel):
    closed: int
    open: int
    half_open: int
    not_closed: list[str]


class Health(BaseModel):
    """
    ``healthy`` when the registry answers with its schema current and the Spark engine is not known to be down
    (``spark.status`` says ``unknown`` when its cluster could not be asked).
    """

    status: Literal["healthy", "unhealthy"]
    registry: ComponentHealth
    spark: ComponentHealth
    circuits: CircuitSummary | None = Field(description="Absent when the registry cannot be read.")


class Problem(BaseModel):
    """An error: what is wrong, in words."""

    detail: str
