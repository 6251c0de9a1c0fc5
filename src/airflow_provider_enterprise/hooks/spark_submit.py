"""spark-submit for this provider: the Spark provider's hook, allow-listed connection extras, a default master."""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.sdk.exceptions import AirflowNotFoundException

#: Connection extras that may shape the spark-submit command line. Any other extra is dropped with a warning:
#: extras are editable by whoever edits connections, and the argv must not be (CVE-2022-40954).
ALLOWED_EXTRAS = frozenset(
    {"deploy-mode", "queue", "namespace", "spark-binary", "rest-port", "rest-scheme", "principal", "master-ui-url"}
)


class EnterpriseSparkSubmitHook(SparkSubmitHook):
    """
    Run spark-submit with only allow-listed connection extras; use ``default_master`` when the connection is missing.

    :param default_master: the master when ``conn_id`` does not exist (``engines.spark.master``), instead of
        the Spark provider's ``yarn``.
    :param kwargs: :class:`~airflow.providers.apache.spark.hooks.spark_submit.SparkSubmitHook` arguments.
    """

    def __init__(self, *, default_master: str, **kwargs: Any) -> None:
        self._default_master = default_master
        super().__init__(**kwargs)

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
    def master_ui_url(self) -> str | None:
        """The ``master-ui-url`` extra: a standalone master's web UI, when it is not on port 8080 of its host."""
        return self._connection["master_ui_url"]

    def build_command(self, application: str) -> list[str]:
        """Return the spark-submit argv for ``application`` (a list, never a shell string)."""
        return self._build_spark_submit_command(application)
