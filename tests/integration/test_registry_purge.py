"""Registry retention on a real registry: what a purge deletes and keeps, the CLI, and purging beside writers."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from airflow_provider_enterprise.cli import main
from airflow_provider_enterprise.config import Settings, load_settings
from airflow_provider_enterprise.events.ledger import EventLedger
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

pytestmark = pytest.mark.integration

TABLES = (
    "enterprise_jobs",
    "enterprise_job_attempts",
    "enterprise_dead_letters",
    "enterprise_audit_events",
    "enterprise_event_messages",
)


@pytest.fixture(autouse=True)
def empty_registry(registry_url: str) -> None:
    with psycopg.connect(registry_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")  # with the tables that reference them


def policy(**settings: dict) -> RetentionPolicy:
    return RetentionPolicy.configured(Settings.model_validate(settings))


def sql(registry_url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(registry_url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def job(registry: EnterpriseMetadataHook, run_id: str, *ages: float | None, letter: tuple | None = None) -> int:
    """
    A job created ``max(ages)`` days ago with one attempt per age: finished that many days ago, or running (None).
    ``letter``: its last attempt failed and was dead-lettered, ``(status, days since created or resolved)``.
    """
    job_id = registry.register_job(JobKey("retention", run_id, "t"), job_name="j", job_type="t")
    for try_number, age in enumerate(ages, start=1):
        attempt = registry.start_attempt(job_id, try_number)
        if age is None:
            continue
        if letter and try_number == len(ages):
            registry.fail_attempt(attempt.attempt_id, RuntimeError("boom"))
            DeadLetterQueue(registry).add(attempt.attempt_id, RuntimeError("boom"))
        else:
            registry.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/out")
        with registry.transaction() as cur:
            cur.execute(
                "UPDATE enterprise_job_attempts SET started_at = now() - make_interval(days => %(age)s),"
                " finished_at = now() - make_interval(days => %(age)s) WHERE attempt_id = %(id)s",
                {"age": age, "id": attempt.attempt_id},
            )
    oldest = max((age for age in ages if age is not None), default=0)
    with registry.transaction() as cur:
        cur.execute(
            "UPDATE enterprise_jobs SET created_at = now() - make_interval(days => %s) WHERE job_id = %s",
            (oldest, job_id),
        )
        if letter:
            status, age = letter
            cur.execute(
                "UPDATE enterprise_dead_letters SET status = %(status)s,"
                " created_at = now() - make_interval(days => 100),"
                " resolved_at = CASE WHEN %(status)s IN ('superseded', 'discarded')"
                " THEN now() - make_interval(days => %(age)s) END WHERE job_id = %(id)s",
                {"status": status, "age": age, "id": job_id},
            )
    return job_id


def message(registry: EnterpriseMetadataHook, stream: str, message_id: str, age: float) -> None:
    """A stream message (a dead letter) recorded ``age`` days ago."""
    EventLedger(registry, dag_id="events", run_id="r").dead_letter(stream, message_id, "not valid JSON")
    with registry.transaction() as cur:
        cur.execute(
            "UPDATE enterprise_event_messages SET received_at = now() - make_interval(days => %s)"
            " WHERE stream = %s AND message_id = %s",
            (age, stream, message_id),
        )


def remaining(registry_url: str) -> set[str]:
    return {row[0] for row in sql(registry_url, "SELECT run_id FROM enterprise_jobs")}


def age_audit_events(registry_url: str, run_id: str, days: float) -> None:
    sql(
        registry_url,
        "UPDATE enterprise_audit_events SET recorded_at = now() - make_interval(days => %s) WHERE run_id = %s",
        (days, run_id),
    )


def test_purge_deletes_exactly_what_is_past_retention(registry, registry_url: str) -> None:
    job(registry, "old", 120, 100)  # two attempts, the last finished 100 days ago: goes
    job(registry, "young", 10)
    job(registry, "retried_lately", 120, 1)  # an old job whose latest try finished yesterday
    job(registry, "running", 120, None)  # a try still running (even if silent for long)
    job(registry, "open_letter", 100, letter=("open", 100))
    job(registry, "replayed_letter", 100, letter=("replayed", 100))
    job(registry, "superseded_letter", 100, letter=("superseded", 40))  # the letter goes, then its job
    job(registry, "discarded_lately", 100, letter=("discarded", 5))  # the letter stays, and so does its job
    age_audit_events(registry_url, "old", 400)
    age_audit_events(registry_url, "young", 200)
    for message_id, age in [("9-0", 100), ("10-0", 100), ("11-0", 100), ("12-0", 1)]:
        message(registry, "orders", message_id, age)
    message(registry, "quiet", "1-0", 100)  # old, but its stream's newest: the position it is read on from

    report = RegistryRetention(registry, batch_size=2).purge(policy(retention={"audit_days": 365}))

    assert report.rows == {
        "enterprise_dead_letters": 1,
        "enterprise_jobs": 2,
        "enterprise_job_attempts": 3,
        "enterprise_event_messages": 3,
        "enterprise_audit_events": 2,  # the two attempts of "old", recorded 400 days ago
    }
    assert sql(registry_url, "SELECT stream, message_id FROM enterprise_event_messages ORDER BY stream") == [
        ("orders", "12-0"),
        ("quiet", "1-0"),
    ]
    assert remaining(registry_url) == {
        "young",
        "retried_lately",
        "running",
        "open_letter",
        "replayed_letter",
        "discarded_lately",
    }
    assert sql(registry_url, "SELECT status FROM enterprise_dead_letters ORDER BY status") == [
        ("discarded",),
        ("open",),
        ("replayed",),
    ]
    audited = {row[0] for row in sql(registry_url, "SELECT run_id FROM enterprise_audit_events")}
    assert "old" not in audited  # its own retention (365 days) is past
    assert {"young", "superseded_letter"} <= audited  # events outlive their purged jobs
    orphans = (
        "SELECT count(*) FROM enterprise_job_attempts a"
        " WHERE NOT EXISTS (SELECT FROM enterprise_jobs j WHERE j.job_id = a.job_id)"
    )
    assert sql(registry_url, orphans) == [(0,)]


def test_a_paced_purge_deletes_the_same_rows_and_pauses_by_its_duty_cycle(registry, registry_url: str) -> None:
    """At a duty cycle of 0.1, the purge pauses nine times as long as each batch took, between batches."""
    sql(
        registry_url,
        "INSERT INTO enterprise_jobs (dag_id, run_id, task_id, job_name, job_type, created_at)"
        " SELECT 'retention', CASE WHEN i <= 40 THEN 'old_' ELSE 'young_' END || i, 't', 'j', 't',"
        " now() - make_interval(days => CASE WHEN i <= 40 THEN 100 ELSE 10 END) FROM generate_series(1, 45) i",
    )
    sql(
        registry_url,
        "INSERT INTO enterprise_job_attempts (job_id, try_number, status, started_at, finished_at)"
        " SELECT job_id, 1, 'succeeded', created_at, created_at FROM enterprise_jobs",
    )

    started = time.monotonic()
    report = RegistryRetention(registry, batch_size=2, duty_cycle=0.1).purge(policy())
    wall = time.monotonic() - started

    assert report.rows["enterprise_jobs"] == report.rows["enterprise_job_attempts"] == 40
    assert remaining(registry_url) == {f"young_{i}" for i in range(41, 46)}
    assert report.paused_seconds <= report.seconds <= wall  # the pauses were slept, within the purge
    working = report.seconds - report.paused_seconds  # 20 paced batches, the last (empty) ones and the set-up
    assert report.paused_seconds >= 4.5 * working  # 9 times each paced batch, which are most of the work

    unpaced = RegistryRetention(registry, duty_cycle=1).purge(policy(retention={"jobs_days": 5}))
    assert unpaced.rows["enterprise_jobs"] == 5
    assert unpaced.paused_seconds == 0


def test_audit_events_stay_without_their_own_retention_and_open_letters_go_only_when_configured(
    registry, registry_url: str
) -> None:
    job(registry, "open_letter", 100, letter=("open", 100))
    age_audit_events(registry_url, "open_letter", 1000)
    retention = RegistryRetention(registry)

    first = retention.purge(policy())
    assert first.rows == {
        "enterprise_dead_letters": 0,
        "enterprise_jobs": 0,
        "enterprise_job_attempts": 0,
        "enterprise_event_messages": 0,
    }
    assert first.kept == {"enterprise_audit_events": "kept: retention.audit_days is not set"}

    second = retention.purge(policy(dead_letters={"purge_statuses": ["open", "superseded", "discarded"]}))
    assert second.rows == {
        "enterprise_dead_letters": 1,
        "enterprise_jobs": 1,
        "enterprise_job_attempts": 1,
        "enterprise_event_messages": 0,
    }
    assert remaining(registry_url) == set()
    assert sql(registry_url, "SELECT count(*) FROM enterprise_audit_events") == [(1,)]


def test_cli_dry_run_prints_counts_by_table_and_deletes_nothing(registry, registry_url: str, capsys) -> None:
    job(registry, "old", 120, 100)
    job(registry, "young", 1)
    message(registry, "orders", "1-0", 40)
    message(registry, "orders", "2-0", 40)

    assert main(["registry", "purge", "--older-than", "30d", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "would purge (dry run, nothing deleted):"
    counts = {line.split()[0]: line.split()[1] for line in lines[2:]}
    assert counts == {
        "enterprise_dead_letters": "0",
        "enterprise_jobs": "1",
        "enterprise_job_attempts": "2",
        "enterprise_event_messages": "1",
        "enterprise_audit_events": "kept:",
    }
    assert remaining(registry_url) == {"old", "young"}

    assert main(["registry", "purge", "--older-than", "12h", "--duty-cycle", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("purged:\n") and re.search(r"^enterprise_job_attempts +3 ", out, re.MULTILINE)
    assert re.search(r"^in [\d.]+ s, 0\.0 s of it paused for the writers \(duty cycle 1\)$", out, re.MULTILINE)
    assert remaining(registry_url) == set()


def test_cli_refuses_a_purge_that_would_delete_audit_events_before_their_jobs(
    registry, registry_url: str, capsys, monkeypatch, tmp_path
) -> None:
    job(registry, "old", 300)
    age_audit_events(registry_url, "old", 300)
    config = tmp_path / "enterprise.yaml"
    config.write_text("retention:\n  jobs_days: 90\n  audit_days: 180\n")
    monkeypatch.setenv("ENTERPRISE_CONFIG", str(config))

    assert main(["registry", "purge", "--older-than", "200d"]) == 1
    err = capsys.readouterr().err
    assert "refusing to purge: jobs would be kept 200 days but audit events only 180 days" in err
    assert remaining(registry_url) == {"old"}

    with pytest.raises(SystemExit):
        main(["registry", "purge", "--older-than", "bad"])
    assert "invalid duration 'bad'" in capsys.readouterr().err
    for bad in ("0", "1.5", "half"):
        with pytest.raises(SystemExit):
            main(["registry", "purge", "--duty-cycle", bad])
        assert f"invalid purge duty cycle '{bad}': expected the share of time" in capsys.readouterr().err

    assert main(["registry", "purge"]) == 0  # the configured 90 days for jobs, 180 for audit events
    assert remaining(registry_url) == set()
    assert sql(registry_url, "SELECT count(*) FROM enterprise_audit_events") == [(0,)]


APP_USER = "retention_app"


@pytest.fixture
def app_hook(registry_url: str):
    """The registry as a login role of enterprise_app, which may not delete audit events."""
    sql(registry_url, f"DROP ROLE IF EXISTS {APP_USER}")
    sql(registry_url, f"CREATE ROLE {APP_USER} LOGIN IN ROLE enterprise_app")
    url = urlunsplit(urlsplit(registry_url)._replace(netloc=f"{APP_USER}@"))
    hook = EnterpriseMetadataHook(settings=load_settings({"DATABASE_URL": url}, use_airflow=False))
    yield hook
    hook.close()
    sql(registry_url, f"DROP ROLE {APP_USER}")


def test_the_application_role_purges_jobs_and_leaves_audit_events(registry, registry_url: str, app_hook) -> None:
    job(registry, "old", 100)
    age_audit_events(registry_url, "old", 1000)

    report = RegistryRetention(app_hook).purge(policy(retention={"audit_days": 365}))

    assert report.rows["enterprise_jobs"] == 1
    assert "enterprise_audit_events" not in report.rows
    assert report.kept == {
        "enterprise_audit_events": "kept: this role may not delete audit events (purge as the owner)"
    }
    assert sql(registry_url, "SELECT count(*) FROM enterprise_audit_events") == [(1,)]


def test_a_row_a_writer_holds_is_skipped_not_waited_for(registry, registry_url: str) -> None:
    held = job(registry, "held", 100)
    job(registry, "free", 100)
    with psycopg.connect(registry_url) as writer:  # a transaction referencing the job: it holds a key-share lock
        writer.execute("SELECT 1 FROM enterprise_jobs WHERE job_id = %s FOR KEY SHARE", (held,))
        started = time.monotonic()
        report = RegistryRetention(registry).purge(policy())
        assert time.monotonic() - started < 5
        writer.rollback()
    assert report.rows["enterprise_jobs"] == 1
    assert remaining(registry_url) == {"held"}


def test_writers_record_attempts_while_a_purge_runs(registry, registry_url: str) -> None:
    """Four writers start and finish attempts throughout a purge of 20,000 old attempts; none waits on it."""
    sql(
        registry_url,
        "INSERT INTO enterprise_jobs (dag_id, run_id, task_id, job_name, job_type, created_at)"
        " SELECT 'retention', 'bulk_' || i, 't', 'j', 't', now() - interval '100 days'"
        " FROM generate_series(1, 10000) i",
    )
    sql(
        registry_url,
        "INSERT INTO enterprise_job_attempts (job_id, try_number, status, started_at, finished_at)"
        " SELECT job_id, t, 'succeeded', created_at, created_at FROM enterprise_jobs, generate_series(1, 2) t",
    )
    purging = threading.Event()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        hook = EnterpriseMetadataHook(settings=registry.settings)
        try:
            for n in range(100_000):
                started = time.perf_counter()
                attempt = hook.register_attempt(JobKey("writers", f"w{writer}_{n}", "t"), 1, job_name="j", job_type="t")
                hook.complete_attempt(attempt.attempt_id, rows_in=1, rows_out=1, output_path="/out")
                latencies.append(time.perf_counter() - started)
                if not purging.is_set() and n > 5:
                    return
        except BaseException as err:
            errors.append(err)
        finally:
            hook.close()

    purging.set()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in writers:
        thread.start()
    report = RegistryRetention(registry, batch_size=500).purge(policy())
    during = len(latencies)
    purging.clear()
    for thread in writers:
        thread.join()

    assert errors == []
    assert report.rows["enterprise_job_attempts"] == 20_000
    assert during >= 20  # the writers went on while the purge ran
    assert max(latencies) < 2.0
    written = sql(
        registry_url, "SELECT count(*) FROM enterprise_job_status WHERE dag_id = 'writers' AND status = 'succeeded'"
    )
    assert written == [(len(latencies),)]


def test_the_maintenance_dag_purges_by_the_configured_retention(
    airflow_db: str, registry, registry_url: str, tmp_path
) -> None:
    """``airflow dags test enterprise_maintenance`` (``dag.test()``): reconciliation, then the purge."""
    from support.env import airflow_on_examples

    job(registry, "old", 100)
    job(registry, "young", 1)
    job(registry, "open_letter", 100, letter=("open", 100))
    output = airflow_on_examples(registry_url, tmp_path, "dags", "test", "enterprise_maintenance")
    assert "purge_registry" in output
    assert remaining(registry_url) == {"young", "open_letter"}


def test_cli_dlq_purge_deletes_dead_letters_only(registry, registry_url: str, capsys) -> None:
    job(registry, "superseded_letter", 100, letter=("superseded", 40))
    job(registry, "discarded_lately", 100, letter=("discarded", 5))

    assert main(["dlq", "purge", "--older-than-days", "20"]) == 0
    assert capsys.readouterr().out == "purged 1 dead letters (superseded, discarded) older than 20 days\n"
    assert sql(registry_url, "SELECT status FROM enterprise_dead_letters") == [("discarded",)]
    assert remaining(registry_url) == {"superseded_letter", "discarded_lately"}  # jobs wait for `registry purge`
