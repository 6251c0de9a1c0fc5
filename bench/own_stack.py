"""An Airflow stack of a benchmark's own: the embedded PostgreSQL, Airflow's database migrated, a migrated registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def own_stack(workdir: Path, dag_files: list[Path], extra: dict[str, str], registry_server=None):
    """
    Start the embedded PostgreSQL and configure an Airflow stack (``tests/support/stack.py``) serving ``dag_files``;
    return the server, the stack (not started) and the registry hook. ``extra`` is the stack's environment;
    ``registry_server`` (an embedded server) holds the registry when it must not share Airflow's server.
    """
    from airflow_provider_enterprise.config import load_settings
    from airflow_provider_enterprise.dev import embedded_db
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
    from support.stack import AirflowStack

    server = embedded_db.start(workdir / "pg", ())
    registry_server = registry_server or server
    embedded_db.ensure_database(server, "airflow_bench")
    embedded_db.ensure_database(registry_server, "enterprise_bench")
    env = {**os.environ, "AIRFLOW_HOME": str(workdir / "airflow")}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = server.sqlalchemy_uri("airflow_bench")
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    registry = EnterpriseMetadataHook(
        settings=load_settings({"DATABASE_URL": registry_server.uri("enterprise_bench")}, use_airflow=False)
    )
    registry.migrate()
    dags = workdir / "dags"
    dags.mkdir()
    for dag_file in dag_files:
        (dags / dag_file.name).symlink_to(dag_file)
    stack = AirflowStack.configure(
        workdir / "stack",
        sql_alchemy_conn=server.sqlalchemy_uri("airflow_bench"),
        registry_url=registry_server.uri("enterprise_bench"),
        dags_folder=dags,
        extra=extra,
    )
    return server, stack, registry
