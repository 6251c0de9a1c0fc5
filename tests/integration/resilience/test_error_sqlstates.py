"""SQLSTATE rows of the error table, with errors a real PostgreSQL raises, through both drivers the provider uses."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.resilience.errors import TRANSIENT_SQLSTATES, ErrorKind, classify_error

pytestmark = pytest.mark.integration

#: SQLSTATE -> its class; one per transient code or class of the table, and permanent ones of each kind.
STATES = {
    "08006": ErrorKind.TRANSIENT,  # connection failure
    "40001": ErrorKind.TRANSIENT,  # serialization failure
    "40P01": ErrorKind.TRANSIENT,  # deadlock detected
    "53000": ErrorKind.TRANSIENT,  # insufficient resources
    "53200": ErrorKind.TRANSIENT,  # out of memory
    "53300": ErrorKind.TRANSIENT,  # too many connections
    "55P03": ErrorKind.TRANSIENT,  # lock not available
    "57014": ErrorKind.TRANSIENT,  # query cancelled (statement timeout)
    "57P01": ErrorKind.TRANSIENT,  # admin shutdown
    "57P02": ErrorKind.TRANSIENT,  # crash shutdown
    "57P03": ErrorKind.TRANSIENT,  # cannot connect now
    "22003": ErrorKind.PERMANENT,  # numeric value out of range
    "23505": ErrorKind.PERMANENT,  # unique violation
    "28P01": ErrorKind.PERMANENT,  # invalid password
    "28000": ErrorKind.PERMANENT,  # invalid authorization
    "42703": ErrorKind.PERMANENT,  # undefined column
    "42501": ErrorKind.PERMANENT,  # insufficient privilege
    "53100": ErrorKind.PERMANENT,  # disk full
    "0A000": ErrorKind.PERMANENT,  # feature not supported
}


def server_error(connect, state: str) -> BaseException:
    conn = connect()
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - any error the server sends
            conn.cursor().execute(
                f"DO $$ BEGIN RAISE EXCEPTION 'raised with %', '{state}' USING ERRCODE = '{state}'; END $$"
            )
        return raised.value
    finally:
        conn.close()


@pytest.fixture(params=["psycopg", "psycopg2"])
def connect(request, pg_server):
    module = __import__(request.param)
    return lambda: module.connect(pg_server.uri("postgres"))


@pytest.mark.parametrize(("state", "kind"), STATES.items(), ids=STATES.keys())
def test_sqlstates_a_retry_can_cure_are_transient_the_rest_permanent(connect, state: str, kind: ErrorKind) -> None:
    error = server_error(connect, state)
    assert (getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)) == state
    assert classify_error(error) is kind


def test_every_transient_sqlstate_has_a_case() -> None:
    assert {s for s in TRANSIENT_SQLSTATES if not any(c.startswith(s) for c in STATES)} == set()


def test_real_query_errors(connect) -> None:
    conn = connect()
    try:
        with pytest.raises(Exception) as missing:  # noqa: PT011
            conn.cursor().execute("SELECT no_such_column FROM pg_class")
        assert classify_error(missing.value) is ErrorKind.PERMANENT
        conn.rollback()
        with pytest.raises(Exception) as overflow:  # noqa: PT011
            conn.cursor().execute("SELECT 2147483647::int * 2")
        assert classify_error(overflow.value) is ErrorKind.PERMANENT
    finally:
        conn.close()
