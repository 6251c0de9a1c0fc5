"""
The registry over TLS: ``sslmode=verify-full`` with client certificates, against a PostgreSQL whose pg_hba.conf
has ``hostssl`` rules only (``cert``, and ``scram-sha-256 clientcert=verify-full``) and no unix socket.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.exceptions import RegistryConnectionRefused
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey, migration_files
from airflow_provider_enterprise.registry import connection
from support.pg_tls import CERT_ROLE, DATABASE, HOST, PASSWORD, PASSWORD_ROLE, TlsPostgres, free_port

pytestmark = pytest.mark.integration

#: The TLS state of the session's own backend.
SSL_SQL = "SELECT ssl, version, cipher, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
#: A refused connection fails at once (without the fix: six reconnect tries over 15.7 s).
FAST = 1.0


@pytest.fixture(scope="module")
def tls_server(workdir: Path) -> Iterator[TlsPostgres]:
    server = TlsPostgres(workdir / "pg-tls")
    try:
        yield server.start()
    finally:
        server.stop()


def url_hook(url: str) -> EnterpriseMetadataHook:
    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False))


def backend_tls(hook: EnterpriseMetadataHook) -> tuple:
    """The TLS state of the hook's registry connection (the one its registry calls use)."""
    with hook.transaction() as cur:
        cur.execute(SSL_SQL)
        return cur.fetchone()


def assert_verified_tls(state: tuple, role: str) -> None:
    ssl, version, cipher, client_dn = state
    assert ssl is True
    assert version == "TLSv1.3"  # the server's ssl_min_protocol_version
    assert cipher
    assert client_dn == f"/CN={role}"  # the client presented its certificate


def test_registry_over_verify_full_tls_from_database_url(tls_server: TlsPostgres) -> None:
    hook = url_hook(tls_server.url())
    assert hook.connection.extra_dejson["sslmode"] == "verify-full"  # query parameters become libpq's

    assert hook.migrate() == [version for version, _ in migration_files()]
    key = JobKey("tls_dag", "run_1", "process")
    job_id = hook.register_job(key, job_name="tls", job_type="processing")
    attempt = hook.start_attempt(job_id, 1, engine="local")
    hook.complete_attempt(attempt.attempt_id, rows_in=3, rows_out=2, output_path="/out")
    assert hook.find_job(key)["status"] == "succeeded"
    assert_verified_tls(backend_tls(hook), CERT_ROLE)
    hook.close()


def test_registry_over_verify_full_tls_from_airflow_connection_extras(
    tls_server: TlsPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password role: scram-sha-256 plus its client certificate (clientcert=verify-full)."""
    connection = {
        "conn_type": "postgres",
        "host": HOST,
        "port": tls_server.port,
        "login": PASSWORD_ROLE,
        "password": PASSWORD,
        "schema": DATABASE,
        "extra": tls_server.ssl_params(PASSWORD_ROLE),
    }
    monkeypatch.setenv("AIRFLOW_CONN_ENTERPRISE_METADATA_DEFAULT", json.dumps(connection))
    hook = EnterpriseMetadataHook(settings=load_settings({}, use_airflow=False))

    hook.migrate()
    key = JobKey("tls_dag", "run_conn", "process")
    job_id = hook.register_job(key, job_name="tls", job_type="processing")
    assert hook.find_job(key)["job_id"] == job_id
    assert_verified_tls(backend_tls(hook), PASSWORD_ROLE)
    hook.close()


REFUSED = {
    "wrong CA": (
        CERT_ROLE,
        None,
        lambda s: {"sslrootcert": str(s.other_ca_cert)},
        r"server's certificate is not signed by the CA in sslrootcert \(.*/other-root\.crt\)",
    ),
    "sslmode=disable": (
        CERT_ROLE,
        None,
        lambda s: {"sslmode": "disable"},
        r"refuses connections without TLS \(sslmode=disable\)",
    ),
    "sslmode=disable with a password": (
        PASSWORD_ROLE,
        PASSWORD,
        lambda s: {"sslmode": "disable", "sslcert": None, "sslkey": None},
        r"refuses connections without TLS \(sslmode=disable\)",
    ),
    "cert rule, no client certificate": (
        CERT_ROLE,
        None,
        lambda s: {"sslcert": None, "sslkey": None},
        rf"requires a client certificate for user {CERT_ROLE}: set sslcert and sslkey",
    ),
    "clientcert=verify-full, no client certificate": (
        PASSWORD_ROLE,
        PASSWORD,
        lambda s: {"sslcert": None, "sslkey": None},
        rf"requires a client certificate for user {PASSWORD_ROLE}",
    ),
    "cert rule, another user's certificate": (
        CERT_ROLE,
        None,
        lambda s: {"sslcert": str(s.client_cert(PASSWORD_ROLE)), "sslkey": str(s.client_key(PASSWORD_ROLE))},
        rf"certificate in sslcert \(.*/{PASSWORD_ROLE}\.crt\) is not for user {CERT_ROLE}",
    ),
    "wrong password": (
        PASSWORD_ROLE,
        "not-the-password",
        lambda s: {},
        rf"refused the password of user {PASSWORD_ROLE}",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_refused_connection_fails_fast_with_a_clear_error(
    tls_server: TlsPostgres, case: str, capfd: pytest.CaptureFixture[str]
) -> None:
    role, password, overrides, message = REFUSED[case]
    hook = url_hook(tls_server.url(role, password, **overrides(tls_server)))

    started = time.monotonic()
    with pytest.raises(RegistryConnectionRefused, match=message) as refused:
        hook.migrate()
    elapsed = time.monotonic() - started

    log = "".join(capfd.readouterr())  # Airflow's structlog writes to stderr, not to the logging module
    assert elapsed < FAST, f"a refused connection took {elapsed:.1f} s: it was retried"
    assert "retrying" not in log
    assert str(refused.value).startswith(f"cannot connect to the registry (database '{DATABASE}' at {HOST}:")
    if password:  # neither our message, libpq's (the cause) nor the log holds the password
        for text in (str(refused.value), str(refused.value.__cause__), log):
            assert password not in text


def test_unreachable_server_is_still_retried(
    tls_server: TlsPostgres, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening is transient (a restarting server): reconnect tries go on, and the log shows them."""
    monkeypatch.setattr(connection, "RECONNECT_DELAYS", (0.01, 0.01))
    hook = url_hook(tls_server.url().replace(f":{tls_server.port}/", f":{free_port()}/"))
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        hook.migrate()
    assert "".join(capfd.readouterr()).count("retrying") == 2


def test_refused_connection_from_a_trigger_is_clear_too(tls_server: TlsPostgres) -> None:
    hook = url_hook(tls_server.url(sslrootcert=str(tls_server.other_ca_cert)))
    with pytest.raises(RegistryConnectionRefused, match="not signed by the CA in sslrootcert"):
        asyncio.run(hook.ajob_state(JobKey("tls_dag", "run_1", "process")))


def test_trigger_query_over_verify_full_tls(tls_server: TlsPostgres) -> None:
    hook = url_hook(tls_server.url())
    hook.migrate()
    rows = asyncio.run(hook.aquery(SSL_SQL, {}))
    assert_verified_tls(tuple(rows[0].values()), CERT_ROLE)
