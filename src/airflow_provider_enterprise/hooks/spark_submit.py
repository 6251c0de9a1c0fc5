"""
spark-submit for this provider: the Spark provider's hook with allow-listed connection extras and a default
master, and detached cluster-mode submission whose driver a :class:`SparkApplicationTracker` follows.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_enterprise.hooks.spark_status import (
    Backend,
    SparkApplicationTracker,
    kubernetes_token,
    kubernetes_verify,
)

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
    }
)


class EnterpriseSparkSubmitHook(SparkSubmitHook):
    """
    Run spark-submit with only allow-listed connection extras; use ``default_master`` when the connection is missing.

    :param default_master: the master when ``conn_id`` does not exist (``engines.spark.master``), instead of
        the Spark provider's ``yarn``.
    :param detached: in cluster mode, return once the cluster accepted the application
        (:meth:`submit_detached`), leaving the wait to a :class:`SparkApplicationTracker`.
    :param kwargs: :class:`~airflow.providers.apache.spark.hooks.spark_submit.SparkSubmitHook` arguments.
    """

    def __init__(self, *, default_master: str, detached: bool = False, **kwargs: Any) -> None:
        self._default_master = default_master
        super().__init__(**kwargs)
        if self.env_stays_local:
            # A client-mode driver and same-host executors run PySpark with this interpreter (Airflow's venv).
            python = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
            self._env_vars = {**python, **(self._env_vars or {})}
        if detached and self.backend is not None:
            # spark-submit returns once the driver pod exists / YARN accepted the application (a standalone
            # master's submission gateway returns once the driver is queued anyway).
            self._track_driver_via_k8s_api = self.backend == "kubernetes"
            self._yarn_track_via_rm_api = self.backend == "yarn"

    @classmethod
    def get_connection(cls, conn_id: str):
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
            return {**super()._resolve_connection(), "master": self._default_master, "master_ui_url": None}
        return {**super()._resolve_connection(), "master_ui_url": conn.extra_dejson.get("master-ui-url")}

    @property
    def master(self) -> str:
        """The master URL spark-submit is given."""
        return self._connection["master"]

    @property
    def deploy_mode(self) -> str | None:
        return self._connection["deploy_mode"]

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
        return self._connection["master_ui_url"]

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
            return self._connection["rest_endpoint"]
        if backend == "kubernetes":
            return self.master.removeprefix("k8s://")
        if backend == "yarn":
            return self._get_yarn_rm_base_url()
        raise ValueError(f"no cluster-mode status API for master {self.master!r} in deploy mode {self.deploy_mode!r}")

    def tracker(self, conn: Any = None) -> SparkApplicationTracker:
        """Return a tracker of this connection's cluster-mode applications (``conn``: the connection, for its token)."""
        backend = self.backend
        if backend != "kubernetes":
            return SparkApplicationTracker(backend, self.status_url())
        if conn is None:
            try:
                conn = self.get_connection(self._conn_id)
            except AirflowNotFoundException:
                conn = None
        return SparkApplicationTracker(
            backend, self.status_url(), token=kubernetes_token(conn), verify=kubernetes_verify()
        )

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
