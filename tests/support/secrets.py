"""Where a secret must never appear: helpers that gather the text the tests search for it."""

from __future__ import annotations


def registry_text(registry) -> str:
    """Every row of every table of the registry ``registry`` (an EnterpriseMetadataHook), as text."""
    with registry.transaction() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cur.fetchall()]
        dumped = []
        for table in tables:
            cur.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608 - names from pg_tables
            dumped += [row[0] for row in cur.fetchall()]
    return "\n".join(dumped)


def xcom_text(dag_run) -> str:
    """Every XCom of the DAG run ``dag_run``, as text."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return "\n".join(f"{row.key}={row.value}" for row in rows)


def rendered_fields_text(dag_run) -> str:
    """The rendered template fields Airflow stored for the DAG run ``dag_run`` (its UI shows them), as text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return "\n".join(f"{row.task_id}={row.rendered_fields}" for row in rows)
