"""The job registry against a real PostgreSQL (the session's embedded server)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.dev import embedded_db
from airflow_provider_enterprise.exceptions import InvalidTransitionError, MetadataDatabaseNotConfigured
from airflow_provider_enterprise.hooks.metadata import (
    MIGRATION_LOCK_KEY,
    AttemptStatus,
    EnterpriseMetadataHook,
    JobKey,
    migration_files,
)
from airflow_provider_enterprise.registry.attempts import HEARTBEAT_SQL

pytestmark = pytest.mark.integration

ALL_VERSIONS = [version for version, _ in migration_files()]


def hook_for(url: str) -> EnterpriseMetadataHook:
    return EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False))


def key(run_id: str = "run_1", task_id: str = "process", map_index: int = -1) -> JobKey:
    return JobKey("dag", run_id, task_id, map_index)


# -- migrations -----------------------------------------------------------------------------------------


def test_migrations_apply_once_and_rerun_is_a_no_op(fresh_database: str) -> None:
    hook = hook_for(fresh_database)
    assert hook.applied_migrations() == []
    assert hook.migrate() == ALL_VERSIONS
    assert hook.migrate() == []
    assert hook.applied_migrations() == ALL_VERSIONS
    with psycopg.connect(fresh_database) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"enterprise_jobs", "enterprise_job_attempts", "enterprise_schema_migrations"} <= tables


def _migrate_in_process(url: str, results: multiprocessing.Queue) -> None:
    results.put(hook_for(url).migrate())


def test_concurrent_migrations_one_applies_the_other_waits(fresh_database: str) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    with psycopg.connect(fresh_database, autocommit=True) as blocker:
        # Hold the migration lock so that both processes are provably waiting at the same time.
        blocker.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        processes = [context.Process(target=_migrate_in_process, args=(fresh_database, results)) for _ in range(2)]
        for process in processes:
            process.start()
        deadline = time.monotonic() + 60
        waiting = 0
        while time.monotonic() < deadline and waiting < 2:
            (waiting,) = blocker.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            time.sleep(0.2)
        assert waiting == 2, "both migration runs should be waiting on the advisory lock"
        blocker.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        outcomes = sorted((results.get(timeout=60) for _ in processes), key=len)
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
    assert outcomes == [[], ALL_VERSIONS]
    with psycopg.connect(fresh_database) as conn:
        rows = conn.execute("SELECT version, count(*) FROM enterprise_schema_migrations GROUP BY version").fetchall()
    assert sorted(rows) == [(version, 1) for version in ALL_VERSIONS]


# -- jobs and attempts --------------------------------------------------------------------------------------


def test_retries_add_attempts_to_one_job(registry: EnterpriseMetadataHook) -> None:
    job_key = key("run_retries")
    job_id = registry.register_job(job_key, job_name="daily", job_type="data_processing")
    first = registry.start_attempt(job_id, 1, engine="local", spec={"job_name": "daily"})
    registry.fail_attempt(first.attempt_id, ConnectionError("spark master unreachable"))
    assert registry.get_job(job_id)["status"] == "failed"

    assert registry.register_job(job_key, job_name="daily", job_type="data_processing") == job_id
    second = registry.start_attempt(job_id, 2, engine="local")
    assert registry.get_job(job_id)["status"] == "running"
    registry.complete_attempt(second.attempt_id, rows_in=10, rows_out=3, output_path="/out")

    job = registry.get_job(job_id)
    assert job["status"] == "succeeded"
    assert job["attempt_count"] == 2
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "failed"), (2, "succeeded")]
    assert job["attempts"][0]["error_class"] == "ConnectionError"
    assert job["attempts"][0]["spec"] == {"job_name": "daily"}
    assert (job["attempts"][1]["rows_in"], job["attempts"][1]["rows_out"]) == (10, 3)
    assert job["attempts"][1]["finished_at"] >= job["attempts"][1]["started_at"]


def test_a_job_without_attempts_is_registered(registry: EnterpriseMetadataHook) -> None:
    job_id = registry.register_job(key("run_registered"), job_name="x", job_type="etl_pipeline")
    assert registry.get_job(job_id)["status"] == "registered"
    assert registry.list_jobs(status="registered")[0]["job_id"] == job_id


def test_mapped_tasks_are_distinct_jobs(registry: EnterpriseMetadataHook) -> None:
    ids = {registry.register_job(key("run_mapped", map_index=i), job_name="m", job_type="t") for i in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("finish", "then", "message"),
    [
        ("complete", "complete", "cannot go from succeeded to succeeded"),
        ("complete", "fail", "cannot go from succeeded to failed"),
        ("fail", "complete", "cannot go from failed to succeeded"),
    ],
)
def test_finished_attempts_cannot_change(
    registry: EnterpriseMetadataHook, finish: str, then: str, message: str
) -> None:
    job_id = registry.register_job(key(f"run_{finish}_{then}"), job_name="x", job_type="t")
    attempt = registry.start_attempt(job_id, 1)

    def act(action: str) -> None:
        if action == "complete":
            registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/o")
        else:
            registry.fail_attempt(attempt.attempt_id, RuntimeError("boom"))

    act(finish)
    with pytest.raises(InvalidTransitionError, match=message):
        act(then)
    assert registry.heartbeat(attempt.attempt_id) is False


def test_unknown_attempt_transition_is_refused(registry: EnterpriseMetadataHook) -> None:
    with pytest.raises(InvalidTransitionError, match="does not exist"):
        registry.fail_attempt(987_654_321, RuntimeError("x"))


def test_racing_registrations_create_one_row_per_key(registry: EnterpriseMetadataHook, registry_url: str) -> None:
    job_key = key("run_race")
    threads = 16

    def register(_: int) -> int:
        return hook_for(registry_url).register_job(job_key, job_name="race", job_type="t")

    with ThreadPoolExecutor(threads) as pool:
        job_ids = set(pool.map(register, range(threads)))
    assert len(job_ids) == 1
    (job_id,) = job_ids

    def attempt(_: int):
        return hook_for(registry_url).start_attempt(job_id, 1, engine="local")

    with ThreadPoolExecutor(threads) as pool:
        attempts = list(pool.map(attempt, range(threads)))
    assert len({a.attempt_id for a in attempts}) == 1
    assert sum(a.created for a in attempts) == 1
    assert all(a.status is AttemptStatus.RUNNING for a in attempts)
    with psycopg.connect(registry_url) as conn:
        (jobs,) = conn.execute("SELECT count(*) FROM enterprise_jobs WHERE run_id = 'run_race'").fetchone()
        (rows,) = conn.execute("SELECT count(*) FROM enterprise_job_attempts WHERE job_id = %s", (job_id,)).fetchone()
    assert (jobs, rows) == (1, 1)


def test_register_attempt_registers_the_job_and_each_new_try_once(registry: EnterpriseMetadataHook) -> None:
    job_key = key("run_register_attempt")
    first = registry.register_attempt(job_key, 1, job_name="daily", job_type="data_processing", engine="local")
    assert first.created and first.status is AttemptStatus.RUNNING
    assert registry.find_job(job_key)["job_id"] == first.job_id
    registry.fail_attempt(first.attempt_id, ConnectionError("lost"))

    second = registry.register_attempt(
        job_key, 2, job_name="daily", job_type="data_processing", spec={"job_name": "daily"}
    )
    assert (second.job_id, second.try_number, second.created) == (first.job_id, 2, True)
    again = registry.register_attempt(job_key, 2, job_name="daily", job_type="data_processing")
    assert (again.attempt_id, again.created, again.status) == (second.attempt_id, False, AttemptStatus.RUNNING)
    job = registry.get_job(first.job_id)
    assert [(a["try_number"], a["status"]) for a in job["attempts"]] == [(1, "failed"), (2, "running")]
    assert job["attempts"][1]["spec"] == {"job_name": "daily"}


def test_racing_register_attempts_create_one_job_and_one_running_try(registry_url: str) -> None:
    """Racers whose statement cannot see the winner's new job row take the two-call path: still one of each."""
    threads = 16
    for run in range(5):
        job_key = key(f"run_register_race_{run}")

        def register(_: int, job_key=job_key):
            return hook_for(registry_url).register_attempt(job_key, 1, job_name="race", job_type="t")

        with ThreadPoolExecutor(threads) as pool:
            attempts = list(pool.map(register, range(threads)))
        assert len({(a.job_id, a.attempt_id) for a in attempts}) == 1
        assert sum(a.created for a in attempts) == 1
        with psycopg.connect(registry_url) as conn:
            (jobs,) = conn.execute(
                "SELECT count(*) FROM enterprise_jobs WHERE run_id = %s", (job_key.run_id,)
            ).fetchone()
            (rows,) = conn.execute(
                "SELECT count(*) FROM enterprise_job_attempts WHERE job_id = %s", (attempts[0].job_id,)
            ).fetchone()
        assert (jobs, rows) == (1, 1)


def test_heartbeat_thread_updates_the_attempt(registry: EnterpriseMetadataHook) -> None:
    job_id = registry.register_job(key("run_heartbeat"), job_name="hb", job_type="t")
    attempt = registry.start_attempt(job_id, 1)
    before = registry.get_job(job_id)["attempts"][0]["heartbeat_at"]
    with registry.heartbeating(attempt.attempt_id, interval=0.1):
        time.sleep(0.5)
    assert registry.get_job(job_id)["attempts"][0]["heartbeat_at"] > before


def test_a_heartbeat_alone_commits_without_waiting_for_its_flush(registry: EnterpriseMetadataHook) -> None:
    job_id = registry.register_job(key("run_async_beat"), job_name="hb", job_type="t")
    attempt = registry.start_attempt(job_id, 1)
    with registry.transaction() as cur:  # the beat's statement, inside a transaction that shows its setting
        cur.execute(HEARTBEAT_SQL, (attempt.attempt_id,))
        assert cur.rowcount == 1
        assert cur.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    assert registry.heartbeat(attempt.attempt_id) is True
    # the setting ends with the beat's transaction: the next writes on the connection wait for their flush again
    with registry.autocommit() as cur:
        assert cur.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/o")
    assert registry.heartbeat(attempt.attempt_id) is False


def test_list_jobs_filters_and_pages(registry: EnterpriseMetadataHook) -> None:
    for i in range(5):
        registry.register_job(JobKey("paging_dag", f"run_{i}", "t"), job_name="p", job_type="t")
    page_1 = registry.list_jobs(dag_id="paging_dag", limit=3)
    page_2 = registry.list_jobs(dag_id="paging_dag", limit=3, offset=3)
    assert [j["run_id"] for j in page_1 + page_2] == [f"run_{i}" for i in reversed(range(5))]


# -- where the registry is -----------------------------------------------------------------------------------


def test_no_configuration_and_no_server_says_how_to_start_one(tmp_path: Path) -> None:
    settings = load_settings({}, use_airflow=False).model_copy(update={"embedded_db_dir": tmp_path / "none"})
    with pytest.raises(MetadataDatabaseNotConfigured, match="enterprise-orchestrator db start"):
        EnterpriseMetadataHook("missing_conn", settings=settings).connection  # noqa: B018


def test_production_refuses_the_embedded_default(pg_server: embedded_db.EmbeddedServer) -> None:
    settings = load_settings({"ENVIRONMENT": "production"}, use_airflow=False).model_copy(
        update={"embedded_db_dir": pg_server.data_dir}
    )
    with pytest.raises(MetadataDatabaseNotConfigured, match="ENVIRONMENT=production"):
        EnterpriseMetadataHook("missing_conn", settings=settings).connection  # noqa: B018


def test_non_local_executor_refuses_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    assert "CeleryExecutor runs tasks on other hosts" in embedded_db.refusal_reason(load_settings({}))


def test_running_embedded_server_is_used_when_nothing_is_configured(pg_server: embedded_db.EmbeddedServer) -> None:
    embedded_db.ensure_database(pg_server, embedded_db.REGISTRY_DATABASE)
    settings = load_settings({}, use_airflow=False).model_copy(update={"embedded_db_dir": pg_server.data_dir})
    hook = EnterpriseMetadataHook("missing_conn", settings=settings)
    assert hook.connection.host == pg_server.socket_dir
    assert hook.get_first("SELECT current_database()") == ("enterprise",)


def test_airflow_connection_is_used(monkeypatch: pytest.MonkeyPatch, registry_url: str, pg_server) -> None:
    database = conninfo_to_dict(registry_url)["dbname"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_REGISTRY_VIA_AIRFLOW",
        f"postgres://postgres@localhost:{pg_server.port}/{database}?host={pg_server.socket_dir}",
    )
    hook = EnterpriseMetadataHook("registry_via_airflow", settings=load_settings({}, use_airflow=False))
    assert hook.applied_migrations() == ALL_VERSIONS


def test_configured_url_wins_over_the_connection(monkeypatch: pytest.MonkeyPatch, registry_url: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ENTERPRISE_METADATA_DEFAULT", "postgres://nobody@127.0.0.1:1/nowhere")
    hook = EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": registry_url}, use_airflow=False))
    assert hook.applied_migrations() == ALL_VERSIONS


def test_registry_writes_survive_a_postgres_restart(tmp_path: Path) -> None:
    """A restart between two writes: the next write reconnects and lands; nothing is lost."""
    import threading

    directory = tmp_path / "pg"
    server = embedded_db.start(directory)
    try:
        hook = hook_for(server.uri())
        hook.migrate()
        job_id = hook.register_job(key("run_restart"), job_name="r", job_type="t")
        attempt = hook.start_attempt(job_id, 1)

        assert embedded_db.stop(directory)
        restarter = threading.Timer(1.5, embedded_db.start, args=(directory,))
        restarter.start()
        hook.complete_attempt(attempt.attempt_id, rows_in=5, rows_out=5, output_path="/o")  # waits, reconnects
        restarter.join()

        job = hook_for(server.uri()).get_job(job_id)
        assert (job["status"], job["attempts"][0]["rows_out"]) == ("succeeded", 5)
    finally:
        embedded_db.stop(directory)


def test_external_ids_are_those_a_retry_may_reuse(registry) -> None:
    job_id = registry.register_job(JobKey("d", "external-ids", "t"), job_name="j", job_type="data_processing")
    for try_number, outcome in ((1, "failed"), (2, "succeeded"), (3, "running")):
        attempt = registry.start_attempt(job_id, try_number, engine="spark")
        registry.annotate_attempt(attempt.attempt_id, external_id=f"app-{try_number}", routing={"engine": "spark"})
        if outcome == "failed":
            registry.fail_attempt(attempt.attempt_id, RuntimeError("lost executors"))
        elif outcome == "succeeded":
            registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/o", external_id="app-2")
    assert registry.external_ids(job_id, before_try=4) == ["app-3", "app-1"]  # latest first, not the succeeded one
    assert registry.external_ids(job_id, before_try=3) == ["app-1"]
    (*_, running) = registry.get_job(job_id)["attempts"]
    assert (running["external_id"], running["routing"]) == ("app-3", {"engine": "spark"})
    with pytest.raises(InvalidTransitionError, match="is not running"):
        registry.annotate_attempt(registry.get_job(job_id)["attempts"][0]["attempt_id"], external_id="late")
    with pytest.raises(ValueError, match="cannot annotate attempts with status"):
        registry.annotate_attempt(running["attempt_id"], status="succeeded")
