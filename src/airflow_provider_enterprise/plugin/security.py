"""
Who may call the plugin API, decided by Airflow's auth manager.

Plugin apps are not protected by Airflow by default: every route but ``/health`` depends on
:data:`UserDep` (Airflow's own JWT check, the ``Authorization: Bearer`` header or the UI's session cookie;
401 without one). Reads show only jobs and dead letters of DAGs the user may read; changes need the right to
edit DAG runs (of the dead letter's DAG, or of every DAG for a breaker, which every DAG shares); 403 otherwise.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import HTTPException, Request, status

UserDep = GetUserDep

Method = Literal["GET", "PUT"]


def readable_dag_ids(user: BaseUser, dag_ids: Collection[str]) -> set[str]:
    """Return those of ``dag_ids`` whose runs ``user`` may read."""
    return get_auth_manager().filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="GET")


def require_dag_runs(user: BaseUser, method: Method, dag_id: str | None) -> None:
    """
    Raise 403 unless ``user`` may act with ``method`` on the runs of ``dag_id`` (``None``: of every DAG).

    ``GET`` reads; ``PUT`` edits runs (replaying or discarding a dead letter, resetting a breaker).
    """
    details = DagDetails(id=dag_id) if dag_id is not None else None
    if not get_auth_manager().is_authorized_dag(
        method=method, access_entity=DagAccessEntity.RUN, details=details, user=user
    ):
        action = "read" if method == "GET" else "edit"
        scope = f"DAG {dag_id!r}" if dag_id is not None else "every DAG"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {user.get_name()!r} may not {action} runs of {scope}")


def caller_token(request: Request) -> str:
    """Return the JWT the caller authenticated with, to act on Airflow's REST API as the caller."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    return token
