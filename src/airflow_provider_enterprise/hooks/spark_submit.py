"""
spark-submit for this provider: the Spark provider's hook with allow-listed connection extras, a default
master, Spark authentication with the connection's password as the shared secret, and detached cluster-mode
submission whose driver a :class:`SparkApplicationTracker` follows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException
from airflow.sdk.log import mask_secret

from airflow_provider_enterprise.clients.spark_status import (
    Backend,
    SparkApplicationTracker,
)
from airflow_provider_enterprise.exceptions import SparkAuthenticationError
from airflow_provider_enterprise.spark_app import SPARK_AUTH_SECRET_ENV

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: Connection extras that may shape the spark-submit command line. Any other extra is dropped with a warning:
#: extras are editable by whoever edits connections, and the argv must not be (CVE-2022-40954).
ALLOWED_EXTRAS = frozenset(
    {
        "deploy-mode",
        "queue",
        "namespace",
        "spark-binary",
        "rest-port",
        "rest-scheme",
        "principal",
        "master-ui-url",
        "yarn_resourcemanager_webapp_address",
        "network-crypto",  # a boolean, translated to spark.network.crypto.enabled (never passed as it is)
    }
)

#: The conf key of the secret: never on the command line, where ``ps`` and the logged command show it.
AUTH_SECRET_CONF = "spark.authenticate.secret"
#: ``spark.authenticate.secret`` on the command line when the secret travels in ``_SPARK_AUTH_SECRET``. A driver
#: of a standalone master refuses to start unless the key is set (SecurityManager.initializeAuth), but then
#: authenticates with the variable: this value is never used as a secret.
AUTH_SECRET_PLACEHOLDER = f"in-environment-{SPARK_AUTH_SECRET_ENV}"

#: spark-submit output of a failed authentication handshake with a standalone master (Spark 4.3): the master
#: expected one and got none, a SASL or AES handshake failed, or the client's handshake broke off.
_AUTH_HANDSHAKE_FAILED = re.compile(
    r"Expected SaslMessage|SaslException|New auth protocol failed|Exception while bootstrapping client"
)
#: spark-submit output when the driver could not register with the master (after which Spark retries for 60 s).
_MASTER_REFUSED = "Failed to connect to master"


class EnterpriseSparkSubmitHook(SparkSubmitHook):
    """
    Run spark-submit with only allow-listed connection extras; use ``default_master`` when the connection is missing.

    :param default_master: the master when ``conn_id`` does not exist (``engines.spark.master``), instead of
        the Spark provider's ``yarn``.
    :param detached: in cluster mode, return once the cluster accepted the application
        (:meth:`submit_detached`), leaving the wait to a :class:`SparkApplicationTracker`.
    :param on_started: called with spark-submit's pid once it started, in a process group of its own (which
        :meth:`on_kill` stops whole): a retry can find and stop a driver its task left behind.
    :param kwargs: :class:`~airflow.providers.apache.spark.hooks.spark_submit.SparkSubmitHook` arguments.
    """

    def __init__(
        self,
        *,
        default_master: str,
        detached: bool = False,
        on_started: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._default_master = default_master
        self._on_started = on_started
        self._auth_secret: str | None = None  # set by _resolve_connection (kept out of self._connection)
        self._auth_refusal: str | None = None
        super().__init__(**kwargs)
        if self.env_stays_local:
            # A client-mode driver and same-host executors run PySpark with this interpreter (Airflow's venv).
            python = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
            self._env_vars = {**python, **(self._env_vars or {})}
        self._configure_authentication()
        if detached and self.backend is not None:
            # spark-submit returns once the driver pod exists / YARN accepted the application (a standalone
            # master's submission gateway returns once the driver is queued anyway).
            self._track_driver_via_k8s_api = self.backend == "kubernetes"
            self._yarn_track_via_rm_api = self.backend == "yarn"

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        conn = super().get_connection(conn_id)
        extra = conn.extra_dejson
        dropped = sorted(set(extra) - ALLOWED_EXTRAS)
        if dropped:
            cls.logger().warning("Ignoring extras of connection %r not allowed on spark-submit: %s", conn_id, dropped)
            conn.extra = json.dumps({k: v for k, v in extra.items() if k in ALLOWED_EXTRAS})
        return conn

    def _resolve_connection(self) -> dict[str, Any]:
        try:
            conn = self.get_connection(self._conn_id)
        except AirflowNotFoundException:
            resolved = super()._resolve_connection()
            return {**resolved, "master": self._default_master, "master_ui_url": None, "network_crypto": False}
        self._auth_secret = conn.password or None
        return {
            **super()._resolve_connection(),
            "master_ui_url": conn.extra_dejson.get("master-ui-url"),
            "network_crypto": _flag(self._conn_id, "network-crypto", conn.extra_dejson.get("network-crypto", False)),
        }

    # -- Spark authentication ------------------------------------------------------------------------

    def _configure_authentication(self) -> None:
        """
        Turn the connection's password and ``network-crypto`` extra into conf and environment, or refuse.

        On a standalone master (client deploy mode) and ``local``, the password is the cluster's
        ``spark.authenticate`` secret: spark-submit gets ``spark.authenticate=true`` (and the placeholder
        :data:`AUTH_SECRET_PLACEHOLDER`) on its command line and the secret in its environment only
        (``_SPARK_AUTH_SECRET``); the secret is registered with Airflow's secrets masker. ``network-crypto: true``
        adds ``spark.network.crypto.enabled=true`` (AES-based RPC encryption, which needs authentication). Where
        the secret could travel only as an argument (YARN, standalone cluster mode) the hook refuses it. On
        Kubernetes the password stays the API token.
        """
        if AUTH_SECRET_CONF in self._conf:
            raise SparkAuthenticationError(
                f"{AUTH_SECRET_CONF} in the Spark conf would put the secret on spark-submit's command line: "
                f"make it the password of Spark connection {self._conn_id!r} instead"
            )
        secret = None if self.master.startswith("k8s://") else self._auth_secret  # on Kubernetes: the API token
        if secret:
            mask_secret(secret)
            if not self.env_stays_local:
                raise SparkAuthenticationError(self._secret_cannot_travel())
            self._conf = {**self._conf, "spark.authenticate": "true", AUTH_SECRET_CONF: AUTH_SECRET_PLACEHOLDER}
            self._env_vars = {**(self._env_vars or {}), SPARK_AUTH_SECRET_ENV: secret}
        if self._connection["network_crypto"]:
            if str(self._conf.get("spark.authenticate", "")).lower() != "true":
                raise SparkAuthenticationError(
                    f"Spark connection {self._conn_id!r} asks for network-crypto, which needs authentication: give "
                    "the connection the cluster's secret as its password (standalone), or set spark.authenticate=true "
                    "in the Spark conf (YARN, Kubernetes)"
                )
            self._conf = {**self._conf, "spark.network.crypto.enabled": "true"}

    def _secret_cannot_travel(self) -> str:
        """The error when the connection has a secret and spark-submit could pass it on only as an argument."""
        where = f"Spark connection {self._conn_id!r} has a password (a standalone master's spark.authenticate secret)"
        if self.master.startswith("yarn"):
            return (
                f"{where}, but its master is YARN, where Spark makes and distributes a secret for each application: "
                "remove the password and set spark.authenticate=true in the Spark conf"
            )
        if self.master.startswith("spark://"):
            return (
                f"{where}, which reaches the driver only through spark-submit's environment, and a cluster-mode "
                "driver is started by a worker: use deploy-mode client (or Spark Connect)"
            )
        return f"{where}, which is supported only on spark:// masters in client deploy mode, not on {self.master!r}"

    def _watch_authentication(self, lines: Iterator[str]) -> Iterator[str]:
        """
        Pass spark-submit's output on; once it shows the standalone master refused the handshake, kill spark-submit
        (Spark itself retries for 60 s) and remember why.
        """
        handshake_failed = master_refused = False
        for line in lines:
            yield line
            if self._auth_refusal is not None:
                continue
            handshake_failed = handshake_failed or bool(_AUTH_HANDSHAKE_FAILED.search(line))
            master_refused = master_refused or _MASTER_REFUSED in line
            if handshake_failed and master_refused:
                if self._auth_secret:
                    self._auth_refusal = (
                        f"authentication failed: the Spark master {self.master} refused the secret of Spark connection "
                        f"{self._conn_id!r} (it is not the cluster's spark.authenticate secret, or the master does not "
                        "have spark.authenticate on)"
                    )
                else:
                    self._auth_refusal = (
                        f"authentication failed: the Spark master {self.master} requires authentication "
                        f"(spark.authenticate) and Spark connection {self._conn_id!r} has no password: set it to the "
                        "cluster's secret"
                    )
                self.log.error("%s; stopping spark-submit", self._auth_refusal)
                if self._submit_sp is not None:
                    self._submit_sp.kill()

    def _process_spark_submit_log(self, itr: Iterator[Any]) -> None:
        if self._on_started is not None and self._submit_sp is not None:  # called once spark-submit started
            self._on_started(self._submit_sp.pid)
        if self.master.startswith("spark://") and self.deploy_mode != "cluster":
            itr = self._watch_authentication(itr)
        super()._process_spark_submit_log(itr)

    def submit(self, application: str = "", **kwargs: Any) -> str | None:
        """Run spark-submit; raise :class:`SparkAuthenticationError` when the master refused its authentication."""
        if self._on_started is not None:
            kwargs.setdefault("start_new_session", True)
        try:
            return super().submit(application, **kwargs)
        except AirflowException:
            if self._auth_refusal:
                raise SparkAuthenticationError(self._auth_refusal) from None
            raise

    def on_kill(self) -> None:
        """Kill spark-submit, and with it the whole process group it leads when ``on_started`` was given (the
        Python driver it started too)."""
        process = self._submit_sp
        if self._on_started is not None and process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        super().on_kill()

    @property
    def master(self) -> str:
        """The master URL spark-submit is given."""
        return cast(str, self._connection["master"])  # the Spark provider's connection dict holds Any

    @property
    def deploy_mode(self) -> str | None:
        return cast("str | None", self._connection["deploy_mode"])

    @property
    def env_stays_local(self) -> bool:
        """
        Whether ``env_vars`` reach the driver only as spark-submit's process environment: a client-mode driver on
        ``local`` or a standalone master. On Kubernetes and YARN the Spark provider turns them into ``--conf``
        arguments, and a standalone cluster-mode driver gets none.
        """
        return self.deploy_mode != "cluster" and self.master.startswith(("local", "spark://"))

    @property
    def master_ui_url(self) -> str | None:
        """The ``master-ui-url`` extra: a standalone master's web UI, when it is not on port 8080 of its host."""
        return cast("str | None", self._connection["master_ui_url"])

    def _build_spark_common_args(self) -> list[str]:
        args = super()._build_spark_common_args()
        if self._properties_file:  # Spark 4 skips spark-defaults.conf once a properties file is given, unless asked
            args.append("--load-spark-defaults")
        return args

    def build_command(self, application: str) -> list[str]:
        """Return the spark-submit argv for ``application`` (a list, never a shell string)."""
        return self._build_spark_submit_command(application)

    # -- cluster mode, detached ----------------------------------------------------------------------

    @property
    def backend(self) -> Backend | None:
        """Where a cluster-mode driver runs (``standalone``, ``kubernetes``, ``yarn``); None in client mode."""
        if self.deploy_mode != "cluster":
            return None
        if self.master.startswith("spark://"):
            return "standalone"
        if self.master.startswith("k8s://"):
            return "kubernetes"
        if self.master.startswith("yarn"):
            return "yarn"
        return None

    def status_url(self) -> str:
        """Return the API that reports this connection's cluster-mode applications (no credentials in it)."""
        backend = self.backend
        if backend == "standalone":
            if not self._connection["rest_endpoint"]:
                raise ValueError(f"no REST server is known for {self.master}: use one master, not an HA list")
            return cast(str, self._connection["rest_endpoint"])
        if backend == "kubernetes":
            return self.master.removeprefix("k8s://")
        if backend == "yarn":
            return self._get_yarn_rm_base_url()
        raise ValueError(f"no cluster-mode status API for master {self.master!r} in deploy mode {self.deploy_mode!r}")

    def tracker(self, conn: Connection | None = None) -> SparkApplicationTracker:
        """Return a tracker of this connection's cluster-mode applications (``conn``: the connection, for its token)."""
        url = self.status_url()  # raises unless this is a cluster-mode backend
        backend = self.backend
        assert backend is not None
        if backend == "kubernetes" and conn is None:
            try:
                conn = self.get_connection(self._conn_id)
            except AirflowNotFoundException:
                conn = None
        return SparkApplicationTracker.connect(backend, url, conn)

    def submit_detached(self, application: str) -> str:
        """
        Submit ``application`` (on a hook made with ``detached=True``) and return its external id once the
        cluster accepted it: a standalone driver id, ``namespace:pod`` or a YARN application id.
        """
        backend = self.backend
        driver_id = self.submit(application)
        if backend == "standalone":
            external_id = driver_id
        elif backend == "kubernetes":
            pod = self._kubernetes_driver_pod
            external_id = f"{self._connection['namespace'] or 'default'}:{pod}" if pod else None
        else:
            external_id = self._yarn_application_id
        if not external_id:
            raise RuntimeError(f"spark-submit reported no {backend} id for the application{self._submit_log_tail}")
        return external_id


def _flag(conn_id: str, name: str, value: Any) -> bool:
    """Read a boolean connection extra (JSON ``true``/``false`` or the strings ``"true"``/``"false"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"extra {name!r} of Spark connection {conn_id!r} must be true or false, got {value!r}")
