"""Airflow provider that runs declarative data jobs on Apache Spark or DuckDB."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow (entry point group ``apache_airflow_provider``)."""
    from airflow_provider_enterprise.config import AIRFLOW_OPTIONS

    descriptions = {
        "environment": "Deployment environment; 'production' refuses the embedded registry (default development).",
        "database_url": "Registry database URL; wins over the connection.",
        "metadata_conn_id": "Airflow connection id of the registry database (default enterprise_metadata_default).",
        "spark_master_url": "Spark master URL for the spark engine (default local[*]).",
        "log_level": "Log level of the provider's own loggers (default INFO).",
        "auto_migrate": "Apply pending registry migrations when a task first connects (default True).",
        "embedded_db_dir": "Data directory of the embedded development PostgreSQL.",
        "local_queue": "Executor queue of local-engine and auto jobs unless a task sets one.",
        "local_pool": "Airflow pool of local-engine and auto jobs unless a task sets one.",
        "spark_queue": "Executor queue of Spark jobs unless a task sets one.",
        "spark_pool": "Airflow pool of Spark jobs unless a task sets one.",
        "jobs_retention_days": "Days a finished job and its attempts stay before a purge (default 90).",
        "audit_retention_days": "Days audit events stay; unset keeps them; never fewer than the jobs'.",
        "dead_letter_retention_days": "Days a resolved dead letter stays before a purge (default 30).",
        "purge_duty_cycle": "Share of a registry purge's time spent deleting, (0, 1] (default 0.25).",
    }
    # No option declares a default: Airflow would return it as if a user had set it, and it would override the
    # YAML file (``ENTERPRISE_CONFIG``); the defaults live in :class:`~airflow_provider_enterprise.config.Settings`.
    options = {
        name: {
            "description": descriptions[name],
            "version_added": "0.1.0",
            "type": "boolean" if name == "auto_migrate" else "string",
            "example": None,
            "default": None,
            **({"sensitive": True} if name == "database_url" else {}),
        }
        for name in AIRFLOW_OPTIONS
    }
    return {
        "package-name": "airflow-provider-enterprise",
        "name": "Enterprise data processing",
        "description": "Declarative data jobs on Apache Spark or DuckDB with a Postgres job registry.",
        "versions": [__version__],
        "hooks": [
            {
                "integration-name": "Enterprise data processing",
                "python-modules": [
                    "airflow_provider_enterprise.hooks.metadata",
                    "airflow_provider_enterprise.security.masking_keys",
                    "airflow_provider_enterprise.hooks.spark_submit",
                    "airflow_provider_enterprise.clients.spark_status",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Enterprise data processing",
                "python-modules": [
                    "airflow_provider_enterprise.operators.data_processing",
                    "airflow_provider_enterprise.operators.spark_submit",
                    "airflow_provider_enterprise.operators.dead_letter",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Enterprise data processing",
                "python-modules": [
                    "airflow_provider_enterprise.sensors.job",
                    "airflow_provider_enterprise.sensors.circuit",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Enterprise data processing",
                "python-modules": [
                    "airflow_provider_enterprise.triggers.job",
                    "airflow_provider_enterprise.triggers.circuit",
                    "airflow_provider_enterprise.triggers.spark",
                ],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_enterprise.hooks.metadata.EnterpriseMetadataHook",
                "connection-type": "enterprise_metadata",
            },
            {
                "hook-class-name": "airflow_provider_enterprise.security.masking_keys.EnterpriseMaskingKeyHook",
                "connection-type": "enterprise_masking",
            },
        ],
        "config": {
            "enterprise": {
                "description": "Settings of airflow-provider-enterprise (also read from ENTERPRISE_CONFIG).",
                "options": options,
            }
        },
    }
