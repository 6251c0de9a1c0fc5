"""
One Spark application per job try where no master can say what runs: drivers on this host, Spark Connect sessions.

A standalone master lists its running applications, so a retry finds an earlier try's application there
(:class:`~airflow_provider_enterprise.engines.spark.SparkEngine`). Two targets have no such list:

- **a local master** (``local[*]``): the driver is a spark-submit started by the task, in a process group of its
  own. Its pid and start time are recorded in a file of this host (:func:`record_driver`); a retry on the same host
  finds it still running (:func:`running_driver`), waits for it and reuses its output, and stops its process group
  when the job's deadline passes first. A retry on another host cannot see it (the record is per host).
- **Spark Connect**: a job's session id is derived from its run id (:func:`session_id`), so a retry joins an earlier
  try's session and interrupts the operations tagged with that run id (:func:`interrupt_run`). A Connect job
  commits from the task, so an operation whose task died never commits; interrupting it frees the cluster.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: The directory of this host's running local drivers, one file per run id (readable by this user only).
DRIVERS = Path(tempfile.gettempdir()) / "airflow-provider-enterprise-drivers"
#: The namespace of Connect session ids (a UUID of the run id in it).
_SESSIONS = uuid.UUID("5a0c8f3e-6f55-4bd4-9b52-7f0b0d7d2c61")
#: Seconds a stopped driver's process group has between SIGTERM and SIGKILL.
_GRACE = 5.0


def _start_ticks(pid: int) -> int | None:
    """
    When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat``); None when it is gone or has
    ended and waits to be reaped (a zombie: its parent, or an init that reaps late or never, has not waited for it).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: the fields after its last ")" are plain
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


@dataclass(frozen=True)
class LocalDriver:
    """A spark-submit of a job's run on this host: its pid (also its process group) and start time."""

    run_id: str
    pid: int
    start_ticks: int

    def alive(self) -> bool:
        """Whether the recorded process still runs (the same pid with the same start time: not a reused pid)."""
        return _start_ticks(self.pid) == self.start_ticks

    def wait(self, deadline: float | None, poll_interval: float) -> bool:
        """Wait until the driver ends; False when ``deadline`` (``time.time()``) passed first."""
        while self.alive():
            if deadline is not None and time.time() >= deadline:
                return False
            time.sleep(poll_interval)
        return True

    def stop(self) -> None:
        """Stop the driver's process group: SIGTERM, then SIGKILL after a grace period."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.alive():
                return
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                return
            ends = time.monotonic() + _GRACE
            while self.alive() and time.monotonic() < ends:
                time.sleep(0.1)


def _record_path(run_id: str) -> Path:
    return DRIVERS / f"{run_id}.json"


def record_driver(run_id: str, pid: int) -> None:
    """Record that ``pid``, the leader of its own process group, is the driver of run ``run_id``."""
    ticks = _start_ticks(pid)
    if ticks is None:  # it already ended
        return
    DRIVERS.mkdir(mode=0o700, exist_ok=True)
    _record_path(run_id).write_text(json.dumps({"pid": pid, "start_ticks": ticks}))


def forget_driver(run_id: str) -> None:
    """Remove run ``run_id``'s record (its driver ended)."""
    _record_path(run_id).unlink(missing_ok=True)


def running_driver(run_id: str) -> LocalDriver | None:
    """The driver of run ``run_id`` when it still runs on this host; None otherwise (its stale record is removed)."""
    try:
        record = json.loads(_record_path(run_id).read_text())
    except (OSError, ValueError):
        return None
    driver = LocalDriver(run_id, int(record["pid"]), int(record["start_ticks"]))
    if driver.alive():
        return driver
    forget_driver(run_id)
    return None


def session_id(run_id: str) -> str:
    """The Spark Connect session id of run ``run_id``: the same in every process, so a retry can join it."""
    return str(uuid.uuid5(_SESSIONS, run_id))


def with_session(master: str, run_id: str) -> str:
    """The Connect URL ``master`` naming run ``run_id``'s session (``sc://host:port/;session_id=...``)."""
    base, _, params = master.partition("/;")
    kept = [p for p in params.split(";") if p and not p.startswith("session_id=")]
    return f"{base.rstrip('/')}/;" + ";".join([*kept, f"session_id={session_id(run_id)}"])


@contextmanager
def connect_mode_contained() -> Iterator[None]:
    """
    Undo, on leaving, the ``SPARK_CONNECT_MODE_ENABLED`` that pyspark sets for the whole process when a remote
    session is created: left set, later classic sessions in this process would act as Connect clients and later
    spark-submits would inherit it.
    """
    was_set = "SPARK_CONNECT_MODE_ENABLED" in os.environ
    try:
        yield
    finally:
        if not was_set:
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def interrupt_run(master: str, run_id: str) -> list[str]:
    """
    Join run ``run_id``'s Connect session and interrupt its operations tagged with the run id; return the ids of
    the operations interrupted. A session that was released (its try ended) holds none.
    """
    from pyspark.sql import SparkSession

    with connect_mode_contained():
        session = SparkSession.builder.remote(with_session(master, run_id)).create()
        try:
            return list(session.interruptTag(run_id))
        except Exception as err:  # a released session has no operation left to interrupt
            if "SESSION_CLOSED" not in str(err) and "SESSION_NOT_FOUND" not in str(err):
                raise
            log.debug("Session of run %s is closed: nothing to interrupt", run_id)
            return []
        finally:
            try:
                session.stop()
            except Exception as err:  # releasing a closed session fails the same way; nothing is lost
                log.debug("Releasing the session of run %s: %s", run_id, err)
