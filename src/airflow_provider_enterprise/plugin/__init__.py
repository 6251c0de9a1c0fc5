"""
The Airflow plugin (entry point ``airflow.plugins``): the enterprise API and its page in the Airflow UI.

Airflow's api-server mounts :func:`~airflow_provider_enterprise.plugin.api.create_app` at ``/enterprise``
(``/enterprise/health``, ``/enterprise/api/v1/...``, ``/enterprise/docs``) and shows ``/enterprise/ui/`` as
the *Enterprise jobs* page in its navigation.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_enterprise.plugin.api import create_app

URL_PREFIX = "/enterprise"


class EnterprisePlugin(AirflowPlugin):
    """Jobs, dead letters and circuit breakers in Airflow's api-server and UI."""

    name = "enterprise"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Enterprise jobs API"}]
    external_views = [
        {
            "name": "Enterprise jobs",
            # relative to the api-server's base URL, so the page works behind a proxy with a path prefix
            "href": "enterprise/ui/",
            "url_route": "enterprise",
            "destination": "nav",
            "category": "browse",
        }
    ]
