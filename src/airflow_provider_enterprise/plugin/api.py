"""
The plugin's FastAPI app, mounted by Airflow's api-server at ``/enterprise``.

``GET /health`` (no login; 200 or 503), ``/api/v1/jobs``, ``/api/v1/dead-letters`` (list, detail, replay,
discard) and ``/api/v1/circuits`` (list, reset), and the UI page under ``/ui/``. The routes only translate
HTTP: the registry hook, :class:`~airflow_provider_enterprise.resilience.dead_letter.DeadLetterQueue` and
the circuit breaker functions do the work, as they do for the CLI. Who may call what is in
:mod:`airflow_provider_enterprise.plugin.security`. Every row shown is masked
(:func:`~airflow_provider_enterprise.security.masking_keys.masked_for_showing`): rows are masked when written, and this
covers older ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from airflow_provider_enterprise import __version__
from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient, AirflowApiError
from airflow_provider_enterprise.config import Settings, load_settings
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.ops import health
from airflow_provider_enterprise.ops.audit import AuditTrail
from airflow_provider_enterprise.plugin import models
from airflow_provider_enterprise.plugin.security import UserDep, caller_token, readable_dag_ids, require_dag_runs
from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker, list_breakers
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterError, DeadLetterNotFound, DeadLetterQueue
from airflow_provider_enterprise.security.masking_keys import masked_for_showing

UI_DIR = Path(__file__).parent / "ui"

# Airflow's own rule for DAG ids (``KEY_REGEX``, at most 250 characters); registry ids are BIGSERIALs.
DagIdQuery = Annotated[str | None, Query(pattern=r"^[\w.-]+$", max_length=250, description="Only this DAG's.")]
RunIdQuery = Annotated[str | None, Query(pattern=r"^[^\x00]+$", max_length=250, description="Only this DAG run's.")]
LimitQuery = Annotated[int, Query(ge=1, le=1000)]
OffsetQuery = Annotated[int, Query(ge=0, le=2**31 - 1)]
RegistryIdPath = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
BreakerNamePath = Annotated[str, PathParam(pattern=r"^[^\x00]+$", max_length=250)]


class _Registry:
    """The app's settings and registry hook, made on first use (the plugin is imported by every Airflow process)."""

    def __init__(self, settings: Settings | None) -> None:
        self._settings = settings
        self._hook: EnterpriseMetadataHook | None = None
        self._lock = threading.Lock()

    def hook(self) -> EnterpriseMetadataHook:
        with self._lock:
            if self._hook is None:
                self._settings = self._settings or load_settings()
                self._hook = EnterpriseMetadataHook(settings=self._settings)
            return self._hook


def _hook(request: Request) -> EnterpriseMetadataHook:
    registry: _Registry = request.app.state.registry
    return registry.hook()


HookDep = Annotated[EnterpriseMetadataHook, Depends(_hook)]

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Problem, "description": "Not authenticated"},
    403: {"model": models.Problem, "description": "Not allowed, or an invalid token"},
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {404: "No such resource", 409: "Not in a state that allows this", 502: "Airflow refused the run"}
    return {**_AUTH_ERRORS, **{code: {"model": models.Problem, "description": described[code]} for code in codes}}


# -- health ---------------------------------------------------------------------------------------------

health_router = APIRouter(tags=["health"])


@health_router.get("/health", response_model=models.Health, responses={503: {"model": models.Health}})
def get_health(hook: HookDep, response: Response) -> models.Health:
    """The registry, the Spark engine and the breakers; 503 when the registry or Spark cannot serve jobs."""
    registry = health.check_registry(hook.settings, hook)
    spark = health.check_spark(hook.settings)
    circuits = models.CircuitSummary(**health.circuit_summary(hook)) if registry.ok else None
    healthy = registry.ok is True and spark.ok is not False  # a Spark that cannot be asked is unknown, not down
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return models.Health(
        status="healthy" if healthy else "unhealthy",
        registry=_component(registry),
        spark=_component(spark),
        circuits=circuits,
    )


def _component(check: health.Check) -> models.ComponentHealth:
    return models.ComponentHealth(status=check.status, detail=check.detail)


class Page(TypedDict):
    """Which page of a listing: at most ``limit`` rows after the first ``offset``."""

    limit: int
    offset: int


@dataclass
class Listing:
    """The parameters every listing shares, and the DAGs the caller may read."""

    hook: EnterpriseMetadataHook
    user: Any
    dag_id: str | None
    run_id: str | None
    page: Page

    def filters(self, **extra: Any) -> dict[str, Any]:
        """The listing's filters, the DAGs the user may read among them, and the endpoint's ``extra`` ones."""
        readable = readable_dag_ids(self.user, self.hook.dag_ids())
        return {"dag_id": self.dag_id, "run_id": self.run_id, "dag_ids": readable, **extra}


def _listing(
    hook: HookDep,
    user: UserDep,
    dag_id: DagIdQuery = None,
    run_id: RunIdQuery = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Listing:
    return Listing(hook, user, dag_id, run_id, {"limit": limit, "offset": offset})


ListingDep = Annotated[Listing, Depends(_listing)]


# -- jobs -----------------------------------------------------------------------------------------------

jobs_router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=_AUTH_ERRORS)


@jobs_router.get("", response_model=models.JobList)
def list_jobs(
    listing: ListingDep, job_status: Annotated[models.JobStatus | None, Query(alias="status")] = None
) -> models.JobList:
    """Jobs of the DAGs the user may read, newest first."""
    hook, filters = listing.hook, listing.filters(status=job_status)
    return models.JobList(
        jobs=masked_for_showing(hook.list_jobs(**filters, **listing.page)), total_entries=hook.count_jobs(**filters)
    )


@jobs_router.get("/{job_id}", response_model=models.JobDetail, responses=_problems(404))
def get_job(job_id: RegistryIdPath, hook: HookDep, user: UserDep) -> models.JobDetail:
    """One job with its attempts, oldest first."""
    job = hook.get_job(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} does not exist")
    require_dag_runs(user, "GET", job["dag_id"])
    return models.JobDetail.model_validate(masked_for_showing(job))


# -- audit trail ---------------------------------------------------------------------------------------

audit_router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=_AUTH_ERRORS)


@audit_router.get("", response_model=models.AuditList)
def list_audit_events(
    listing: ListingDep,
    path: Annotated[
        str | None,
        Query(pattern=r"^[^\x00]+$", max_length=4096, description="An input or output path, or a folder above it."),
    ] = None,
    user: Annotated[
        str | None, Query(pattern=r"^[^\x00]+$", max_length=256, description="Who triggered the run.")
    ] = None,
    outcome: Annotated[models.AttemptStatus | None, Query()] = None,
) -> models.AuditList:
    """Audit events (one per finished attempt) of the DAGs the user may read, newest first."""
    trail, filters = AuditTrail(listing.hook), listing.filters(path=path, user=user, outcome=outcome)
    return models.AuditList(
        audit_events=masked_for_showing(trail.find(**filters, **listing.page)), total_entries=trail.count(**filters)
    )


# -- dead letters ---------------------------------------------------------------------------------------

dead_letters_router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"], responses=_AUTH_ERRORS)


@dead_letters_router.get("", response_model=models.DeadLetterList)
def list_dead_letters(
    listing: ListingDep, letter_status: Annotated[models.DeadLetterStatus | None, Query(alias="status")] = None
) -> models.DeadLetterList:
    """Dead letters of the DAGs the user may read, newest first."""
    queue, filters = DeadLetterQueue(listing.hook), listing.filters(status=letter_status)
    return models.DeadLetterList(
        dead_letters=masked_for_showing(queue.find(**filters, **listing.page)), total_entries=queue.count(**filters)
    )


def _letter(hook: EnterpriseMetadataHook, user: Any, dead_letter_id: int, method: Any) -> dict[str, Any]:
    """Return the dead letter if ``user`` may act on it with ``method`` (404 / 403 otherwise)."""
    letter = DeadLetterQueue(hook).get(dead_letter_id)
    require_dag_runs(user, method, letter["dag_id"])
    return letter


def _letter_detail(letter: dict[str, Any]) -> models.DeadLetterDetail:
    return models.DeadLetterDetail.model_validate(masked_for_showing(letter))


@dead_letters_router.get("/{dead_letter_id}", response_model=models.DeadLetterDetail, responses=_problems(404))
def get_dead_letter(dead_letter_id: RegistryIdPath, hook: HookDep, user: UserDep) -> models.DeadLetterDetail:
    """One dead letter with its spec and traceback."""
    return _letter_detail(_letter(hook, user, dead_letter_id, "GET"))


@dead_letters_router.post("/{dead_letter_id}/replay", response_model=models.Replay, responses=_problems(404, 409, 502))
def replay_dead_letter(dead_letter_id: RegistryIdPath, hook: HookDep, user: UserDep, request: Request) -> models.Replay:
    """
    Rerun the failed task with its recorded spec in a new DAG run (idempotent: one run per dead letter).

    Needs the right to edit the DAG's runs; the run is then created through Airflow's REST API with the
    caller's own token, so Airflow checks the right to create it as well.
    """
    _letter(hook, user, dead_letter_id, "PUT")
    api = AirflowApiClient(hook.settings, token=caller_token(request))
    try:
        result = DeadLetterQueue(hook).replay(dead_letter_id, api)
    finally:
        api.close()
    return models.Replay(
        dead_letter_id=result.dead_letter_id, dag_id=result.dag_id, run_id=result.run_id, created=result.created
    )


@dead_letters_router.post(
    "/{dead_letter_id}/discard", response_model=models.DeadLetterDetail, responses=_problems(404, 409)
)
def discard_dead_letter(dead_letter_id: RegistryIdPath, hook: HookDep, user: UserDep) -> models.DeadLetterDetail:
    """Resolve an open dead letter without replaying it."""
    _letter(hook, user, dead_letter_id, "PUT")
    queue = DeadLetterQueue(hook)
    queue.discard(dead_letter_id)
    return _letter_detail(queue.get(dead_letter_id))


# -- circuits -------------------------------------------------------------------------------------------

circuits_router = APIRouter(prefix="/api/v1/circuits", tags=["circuits"], responses=_AUTH_ERRORS)


@circuits_router.get("", response_model=models.CircuitList)
def list_circuits(hook: HookDep, user: UserDep) -> models.CircuitList:
    """Every circuit breaker, by name."""
    return models.CircuitList(circuits=list_breakers(hook))


@circuits_router.post("/{name}/reset", response_model=models.Circuit, responses=_problems(404))
def reset_circuit(name: BreakerNamePath, hook: HookDep, user: UserDep) -> models.Circuit:
    """Close a breaker by hand. A breaker guards an engine every DAG uses: this needs edit rights on every DAG."""
    if not list_breakers(hook, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"circuit {name!r} does not exist")
    require_dag_runs(user, "PUT", None)
    CircuitBreaker(hook, name).reset()
    return models.Circuit.model_validate(list_breakers(hook, name)[0])


# -- the app --------------------------------------------------------------------------------------------


def _problem(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    return handler


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the plugin app; ``settings`` default to :func:`~airflow_provider_enterprise.config.load_settings`."""
    app = FastAPI(
        title="airflow-provider-enterprise",
        version=__version__,
        description=(
            "Jobs, dead letters and circuit breakers of the enterprise provider. Authenticate as for Airflow's "
            "own API: `Authorization: Bearer <JWT from POST /auth/token>`, or the Airflow UI's session."
        ),
    )
    app.state.registry = _Registry(settings)
    for router in (health_router, jobs_router, audit_router, dead_letters_router, circuits_router):
        app.include_router(router)
    app.add_exception_handler(DeadLetterNotFound, _problem(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(DeadLetterError, _problem(status.HTTP_409_CONFLICT))
    app.add_exception_handler(AirflowApiError, _problem(status.HTTP_502_BAD_GATEWAY))
    app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")
    return app
