"""The dead-letter service on a real registry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from airflow_provider_enterprise.engines.reuse import run_id as run_id_of
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook, JobKey
from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterError, DeadLetterQueue, reconcile

pytestmark = pytest.mark.integration


def failed_attempt(registry: EnterpriseMetadataHook, run_id: str, try_number: int = 1) -> tuple[int, int]:
    job_id = registry.register_job(JobKey("dlq_dag", run_id, "t"), job_name="j", job_type="t")
    attempt = registry.start_attempt(job_id, try_number, spec={"job_name": "j", "job_data": {"password": "hunter22"}})
    registry.fail_attempt(attempt.attempt_id, RuntimeError("boom"))
    return job_id, attempt.attempt_id


def silence(registry: EnterpriseMetadataHook, attempt_ids: list[int]) -> None:
    """Make attempts look as if their task process died an hour ago (no heartbeat since)."""
    with registry.transaction() as cur:
        cur.execute(
            "UPDATE enterprise_job_attempts SET heartbeat_at = now() - interval '1 hour' WHERE attempt_id = ANY(%s)",
            (attempt_ids,),
        )


def test_one_dead_letter_per_final_failure_with_masked_spec(registry) -> None:
    queue = DeadLetterQueue(registry)
    job_id, attempt_id = failed_attempt(registry, "run_once")
    first = queue.add(attempt_id, RuntimeError("boom"))
    assert first is not None
    assert queue.add(attempt_id, RuntimeError("boom")) is None  # a second callback or sweep adds nothing
    letter = queue.get(first)
    assert (letter["job_id"], letter["try_number"], letter["attempt_count"], letter["status"]) == (job_id, 1, 1, "open")
    assert letter["spec"]["job_data"]["password"] == "***"
    assert "hunter22" not in str(letter)


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_a_later_try_dead_letter_supersedes_an_earlier_one_in_either_order(registry, order) -> None:
    """
    Try 1 dead-letters itself but its supervisor is dead, so Airflow retries it (the chaos bench found the job with
    two open dead letters): only the latest try's dead letter stays open, whichever is written first.
    """
    queue = DeadLetterQueue(registry)
    job_id = registry.register_job(JobKey("dlq_dag", f"run_retried_{order[0]}", "t"), job_name="j", job_type="t")
    attempts = {}
    for try_number in (1, 2):
        attempts[try_number] = registry.start_attempt(job_id, try_number, spec={"job_name": "j"}).attempt_id
        registry.fail_attempt(attempts[try_number], RuntimeError("poison"))
    letters = {try_number: queue.add(attempts[try_number], RuntimeError("poison")) for try_number in order}
    assert queue.add(attempts[order[0]], RuntimeError("poison")) is None  # a sweep afterwards changes nothing
    assert {t: queue.get(i)["status"] for t, i in letters.items()} == {1: "superseded", 2: "open"}
    assert [d["try_number"] for d in queue.find(status="open", dag_id="dlq_dag") if d["job_id"] == job_id] == [2]


def test_success_of_the_same_job_supersedes_and_discard_is_guarded(registry) -> None:
    queue = DeadLetterQueue(registry)
    job_id, attempt_id = failed_attempt(registry, "run_supersede")
    letter_id = queue.add(attempt_id, RuntimeError("boom"))
    assert queue.supersede(job_id) == 1
    assert queue.get(letter_id)["status"] == "superseded"
    with pytest.raises(DeadLetterError, match="is superseded, not open: cannot mark it discarded"):
        queue.discard(letter_id)
    _, other_attempt = failed_attempt(registry, "run_discard")
    other = queue.add(other_attempt, RuntimeError("boom"))
    queue.discard(other)
    assert queue.get(other)["status"] == "discarded"
    policy = RetentionPolicy(timedelta(days=1), timedelta(0), ("superseded", "discarded"), None, timedelta(days=1))
    assert RegistryRetention(registry).purge_dead_letters(policy) >= 2
    with pytest.raises(DeadLetterError, match="does not exist"):
        queue.get(other)


def test_reconcile_fails_silent_attempts_by_airflow_state_and_is_idempotent(registry) -> None:
    states = {}
    keys = {}
    for run_id, state in (
        ("run_lost_failed", ("failed", 1)),
        ("run_lost_retry", ("up_for_retry", 1)),
        ("run_still_running", ("running", 1)),
    ):
        job_id = registry.register_job(JobKey("reconcile_dag", run_id, "t"), job_name="j", job_type="t")
        keys[run_id] = registry.start_attempt(job_id, 1).attempt_id
        states[run_id] = state
    silence(registry, list(keys.values()))

    def read_state(dag_id: str, run_id: str, task_id: str, map_index: int):
        return states.get(run_id)

    report = reconcile(registry, read_state, stale_after=60)
    assert (report.failed_attempts, report.dead_letters) == (2, 1)
    again = reconcile(registry, read_state, stale_after=60)
    assert (again.failed_attempts, again.dead_letters) == (0, 0)
    statuses = {
        run_id: registry.find_job(JobKey("reconcile_dag", run_id, "t"))["attempts"][0]["status"] for run_id in keys
    }
    assert statuses == {"run_lost_failed": "failed", "run_lost_retry": "failed", "run_still_running": "running"}


def test_reconcile_removes_the_staging_that_killed_tries_of_an_ended_job_left(registry, tmp_path: Path) -> None:
    """A last try killed while it wrote leaves its staging directory; no later try will remove it, so the sweep
    that dead-letters the try does, and only that job's tries' (a job still retrying keeps its own)."""
    ended, retrying = tmp_path / "ended" / "out", tmp_path / "retrying" / "out"
    attempts, jobs = {}, {}
    for run_id, output in (("run_ended", ended), ("run_retrying", retrying)):
        output.parent.mkdir()
        job_id = registry.register_job(JobKey("staging_dag", run_id, "t"), job_name="j", job_type="t")
        first = registry.start_attempt(job_id, 1, spec={"output_path": str(output)})
        registry.fail_attempt(first.attempt_id, OSError("killed"))
        attempts[run_id] = registry.start_attempt(job_id, 2, spec={"output_path": str(output)}).attempt_id
        jobs[run_id] = job_id
    silence(registry, list(attempts.values()))

    def staging(output: Path, job_id: int, try_number: int) -> Path:
        directory = output.parent / f".{output.name}.staging-{run_id_of(job_id, try_number)}-0123456789ab"
        directory.mkdir()
        (directory / "part-0.parquet").write_text("half")
        return directory

    removed = [staging(ended, jobs["run_ended"], 1), staging(ended, jobs["run_ended"], 2)]
    kept = [
        staging(ended, jobs["run_ended"], 3),  # a try after the dead one (the task cleared and running again)
        staging(ended, jobs["run_retrying"], 2),  # another job's, beside the same output
        staging(retrying, jobs["run_retrying"], 2),  # the job still retrying: its next try removes it
    ]
    unnamed = ended.parent / f".{ended.name}.staging-0123456789ab"  # a run without a job's name
    unnamed.mkdir()
    kept.append(unnamed)
    states = {"run_ended": ("failed", 2), "run_retrying": ("up_for_retry", 2)}

    def read_state(dag_id: str, run_id: str, task_id: str, map_index: int) -> tuple[str, int | None]:
        return states.get(run_id, ("running", None))  # other tests' silent attempts are left alone

    report = reconcile(registry, read_state, stale_after=60)

    assert (report.failed_attempts, report.dead_letters) == (2, 1)
    assert [d for d in removed if d.exists()] == []
    assert [d for d in kept if not d.exists()] == []


def test_recording_a_replay_counts_it_once(registry, statsd_in_process) -> None:
    import time

    queue = DeadLetterQueue(registry)
    _, attempt_id = failed_attempt(registry, "run_replayed")
    letter_id = queue.add(attempt_id, RuntimeError("boom"))
    letter, run_id, conf, replayed_before = queue.prepare_replay(letter_id)
    assert not replayed_before and conf["enterprise_replay"]["spec"]["job_data"]["password"] == "***"
    queue.mark_replayed(letter, run_id)
    queue.mark_replayed(letter, run_id)  # a racing replay recorded it already: not counted again
    assert queue.get(letter_id)["status"] == "replayed"
    assert queue.prepare_replay(letter_id)[3] is True
    time.sleep(0.3)
    replays = statsd_in_process.datagrams("airflow.enterprise.dead_letter_replays")
    assert [(d.value, d.kind, d.tags) for d in replays] == [("1", "c", {"dag_id": "dlq_dag"})]


@pytest.mark.parametrize("backend", ["standalone", "kubernetes", "yarn"])
def test_reconcile_stops_the_application_of_a_task_that_ended_without_it(registry, backend) -> None:
    """
    A task marked failed while deferred, before a triggerer ran its trigger, leaves its application running:
    the sweep kills it. An application a retry may still re-attach to (task up for retry, or a later try
    running) is left alone. The status API is a local server that answers like each backend's.
    """
    from airflow_provider_enterprise.clients.spark_status import SparkApplicationTracker
    from support.status_server import StatusServer

    ids = {
        "standalone": ("driver-20261202-0001", "driver-20261202-0002", "driver-20261202-0003"),
        "kubernetes": ("jobs:orphan-driver", "jobs:retried-driver", "jobs:reattached-driver"),
        "yarn": ("application_2_0001", "application_2_0002", "application_2_0003"),
    }[backend]
    running = {"standalone": "RUNNING", "kubernetes": "Running", "yarn": "RUNNING"}[backend]
    killed = {"standalone": "KILLED", "kubernetes": None, "yarn": "KILLED/KILLED"}[backend]
    server = StatusServer().start()
    try:
        states, attempt_ids = {}, []
        for run_id, external_id, state in zip(
            (f"orphan_{backend}", f"retry_{backend}", f"moved_on_{backend}"),
            ids,
            (("failed", 1), ("up_for_retry", 1), ("running", 2)),
            strict=True,
        ):
            server.script(backend, external_id, running)
            job_id = registry.register_job(JobKey("orphan_dag", run_id, "t"), job_name="j", job_type="t")
            attempt = registry.start_attempt(job_id, 1)
            tracker = SparkApplicationTracker(backend, server.url)
            registry.annotate_attempt(
                attempt.attempt_id, external_id=external_id, status_api=tracker.status_api("spark_default")
            )
            states[run_id] = state
            attempt_ids.append(attempt.attempt_id)
        silence(registry, attempt_ids)

        def read_state(dag_id: str, run_id: str, task_id: str, map_index: int):
            return states.get(run_id)

        report = reconcile(registry, read_state, stale_after=60)
        assert report.stopped_applications == 1
        assert server.state(backend, ids[0]) == killed  # a deleted driver pod is gone
        assert [server.state(backend, i) for i in ids[1:]] == [running, running]
        assert reconcile(registry, read_state, stale_after=60).stopped_applications == 0
        stored = registry.find_job(JobKey("orphan_dag", f"orphan_{backend}", "t"))["attempts"][0]
        assert stored["status"] == "failed"
        assert stored["status_api"] == {"backend": backend, "url": server.url, "conn_id": "spark_default"}
    finally:
        server.stop()


def test_reconcile_goes_on_when_a_cluster_cannot_be_reached(registry) -> None:
    """An unreachable status API is logged; the attempt is still failed and dead-lettered."""
    from support.processes import free_port

    job_id = registry.register_job(JobKey("orphan_dag", "unreachable", "t"), job_name="j", job_type="t")
    attempt = registry.start_attempt(job_id, 1)
    registry.annotate_attempt(
        attempt.attempt_id,
        external_id="driver-20261202-0009",
        status_api={"backend": "standalone", "url": f"http://127.0.0.1:{free_port()}", "conn_id": None},
    )
    silence(registry, [attempt.attempt_id])
    report = reconcile(registry, lambda *key: ("failed", 1), stale_after=60)
    assert (report.stopped_applications, report.dead_letters) == (0, 1)
    assert registry.find_job(JobKey("orphan_dag", "unreachable", "t"))["attempts"][0]["status"] == "failed"
