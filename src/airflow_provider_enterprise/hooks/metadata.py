"""
The job registry's Airflow hook: a PostgreSQL database of its own (never Airflow's metadata DB).

The hook is the registry's concerns in one object (see :mod:`airflow_provider_enterprise.registry`): its
connection and transactions, migrations, jobs and attempts, and queries.
"""

from __future__ import annotations

from airflow_provider_enterprise.config import DEFAULT_METADATA_CONN_ID
from airflow_provider_enterprise.registry.attempts import (
    ATTEMPT_TRANSITIONS,
    Attempt,
    AttemptStatus,
    JobKey,
    RegistryAttempts,
    RunTrigger,
)
from airflow_provider_enterprise.registry.connection import ASYNC_POOL_MAX_SIZE, reconnecting
from airflow_provider_enterprise.registry.migrations import MIGRATION_LOCK_KEY, RegistryMigrations, migration_files
from airflow_provider_enterprise.registry.queries import LISTING_FILTER, RegistryQueries, listing_params

__all__ = [
    "ASYNC_POOL_MAX_SIZE",
    "ATTEMPT_TRANSITIONS",
    "LISTING_FILTER",
    "MIGRATION_LOCK_KEY",
    "Attempt",
    "AttemptStatus",
    "EnterpriseMetadataHook",
    "JobKey",
    "RunTrigger",
    "listing_params",
    "migration_files",
    "reconnecting",
]


class EnterpriseMetadataHook(RegistryAttempts, RegistryQueries, RegistryMigrations):
    """
    Interact with the job registry.

    :param metadata_conn_id: Airflow connection of the registry database, used when no ``database_url``
        is configured.
    :param settings: provider settings; loaded from the environment when not given.
    """

    conn_name_attr = "metadata_conn_id"
    default_conn_name = DEFAULT_METADATA_CONN_ID
    conn_type = "enterprise_metadata"
    hook_name = "Enterprise job registry"
