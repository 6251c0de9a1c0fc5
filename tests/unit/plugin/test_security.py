"""
Tests for plugin/security.py: which token a replay acts with. Who may read or change what is decided by
Airflow's auth manager, tested against the stack's api-server (tests/stack/test_plugin_api.py).
"""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from airflow_provider_enterprise.plugin.security import caller_token


def request_with(*headers: tuple[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ((("Authorization", "Bearer header.jwt"),), "header.jwt"),
        ((("Authorization", "bearer header.jwt"),), "header.jwt"),  # the scheme's case does not matter
        ((("Cookie", "_token=cookie.jwt"),), "cookie.jwt"),  # the UI's session
        ((("Authorization", "Bearer header.jwt"), ("Cookie", "_token=cookie.jwt")), "header.jwt"),
        ((("Authorization", "Basic dXNlcjpwdw=="), ("Cookie", "_token=cookie.jwt")), "cookie.jwt"),
    ],
)
def test_the_callers_token_is_the_bearer_header_else_the_session_cookie(headers, token: str) -> None:
    assert caller_token(request_with(*headers)) == token


@pytest.mark.parametrize(
    "headers",
    [(), (("Authorization", "Bearer "),), (("Authorization", "Basic dXNlcjpwdw=="),), (("Cookie", "other=x"),)],
)
def test_no_token_is_401(headers) -> None:
    with pytest.raises(HTTPException) as raised:
        caller_token(request_with(*headers))
    assert (raised.value.status_code, raised.value.detail) == (401, "Not authenticated")
