"""
The orchestration-overhead benchmark's DAGs (``bench/orchestration_overhead.py``): one DAG per variant, one task
each, the same filter and group-by over ``params.input_path`` written as Parquet under ``params.output_dir``.

- ``bench_orchestration_python``: a bare PythonOperator running the query hand-written in DuckDB;
- ``bench_orchestration_local``: EnterpriseDataProcessingOperator with ``execution_engine="local"``;
- ``bench_orchestration_auto``: the same with ``execution_engine="auto"`` (routing included).

Each DAG runs an empty ``warm_up`` task first: ``airflow dags test`` starts its in-process execution API on a
process's first task (about 3 s, inside that task's start and end), which a deployment's API server does not.

With ``BENCH_TIMINGS`` set to a file, the task's ``execute`` writes its breakdown there as JSON lines, one per
timed call: ``{"call", "component", "ms"}``, ``ms`` being the call's own time (timed calls inside it left
out), so the lines of one task add up to its ``execute``. Components: ``registry`` (hook calls, the first
one connecting), ``metrics`` (StatsD sends), ``settings`` (the hook's settings), ``spec`` (validation),
``engine_selection`` (routing and the engine's construction), ``import`` (the engine's modules and DuckDB),
``engine`` (the engine's run, or the hand-written query), ``gc`` (garbage collections, whichever call they
interrupted) and ``execute`` (the rest of the operator). One more
line, ``dag_file``, is outside the task: importing the provider's operator when the file was first parsed,
which each task process of a deployment pays (``airflow dags test`` parses once for all its tasks).
"""

from __future__ import annotations

import functools
import gc
import importlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

TIMINGS_ENV = "BENCH_TIMINGS"
VARIANTS = ("python", "local", "auto")
LOGIC = {
    "transformations": [
        {"type": "filter", "condition": "status = 'active' AND amount > 10"},
        {"type": "groupby", "columns": ["region"], "aggregations": {"orders": "count(*)", "total": "sum(amount)"}},
    ]
}
QUERY = (
    "SELECT region, count(*) AS orders, sum(amount) AS total FROM read_parquet($input)"
    " WHERE status = 'active' AND amount > 10 GROUP BY region"
)

_frames: list[float] = []  # per running timed call: the time spent in the timed calls inside it
_lines: list[dict[str, Any]] = []
_collection: list[float] = []  # the start of a garbage collection inside a timed call

_started = time.perf_counter()
data_processing = importlib.import_module("airflow_provider_enterprise.operators.data_processing")
_lines.append({"call": "import operator", "component": "dag_file", "ms": (time.perf_counter() - _started) * 1000})
EnterpriseDataProcessingOperator = data_processing.EnterpriseDataProcessingOperator


@contextmanager
def _timer(call: str, component: str, root: bool = False) -> Iterator[None]:
    """Time a block inside a task's ``execute`` (the root); outside one (DAG parsing) it is not recorded."""
    if not (root or _frames):
        yield
        return
    _frames.append(0.0)
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        inner = _frames.pop()
        _lines.append({"call": call, "component": component, "ms": (seconds - inner) * 1000})
        if _frames:
            _frames[-1] += seconds
        else:
            Path(os.environ[TIMINGS_ENV]).write_text("".join(json.dumps(line) + "\n" for line in _lines))
            _lines.clear()


def _collecting(phase: str, info: dict[str, Any]) -> None:
    """Time a garbage collection inside a timed call (a ``gc.callbacks`` entry)."""
    if phase == "start" and _frames:
        _collection.append(time.perf_counter())
    elif phase == "stop" and _collection:
        seconds = time.perf_counter() - _collection.pop()
        _frames[-1] += seconds
        _lines.append({"call": f"generation {info['generation']}", "component": "gc", "ms": seconds * 1000})


def _timed(owner: Any, name: str, component: str, root: bool = False) -> None:
    method = getattr(owner, name)

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with _timer(name, component, root):
            return method(*args, **kwargs)

    timed.bench_timed = True
    setattr(owner, name, timed)


def _select_engine(*args: Any, **kwargs: Any) -> Any:
    """The operator's engine selection (engines/selection.py's ``select_engine``), its lazy import timed apart and
    the chosen engine's run timed."""
    with _timer("import engines.local", "import"):
        import airflow_provider_enterprise.engines.local  # noqa: F401
    choice = _selection(*args, **kwargs)
    _timed(choice.engine, "run", "engine")
    return choice


def hand_written(input_path: str, output_dir: str) -> None:
    """The job without the operator: the query in DuckDB, written as Parquet."""
    with _timer("import duckdb", "import"):
        import duckdb
    with _timer("duckdb", "engine"):
        out = Path(output_dir)
        out.mkdir(parents=True)
        with duckdb.connect() as con:
            con.execute(f"COPY ({QUERY}) TO $out (FORMAT parquet)", {"input": input_path, "out": f"{out}/part.parquet"})


# Installed once per process (the DAG file is parsed more than once): the first parse's DAGs are the ones run.
if os.environ.get(TIMINGS_ENV) and not getattr(EnterpriseDataProcessingOperator.execute, "bench_timed", False):
    from airflow_provider_enterprise import metrics
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

    _selection = data_processing.select_engine
    data_processing.select_engine = _select_engine
    gc.callbacks.append(_collecting)
    registry_calls = ("get_conn", "migrate", "register_job", "start_attempt", "annotate_attempt", "complete_attempt")
    for owner, name, component in (
        (EnterpriseDataProcessingOperator, "execute", "execute"),
        (PythonOperator, "execute", "execute"),
        (data_processing, "select_engine", "engine_selection"),
        (EnterpriseMetadataHook, "__init__", "settings"),
        (data_processing, "validate_job_spec", "spec"),
        *((EnterpriseMetadataHook, call, "registry") for call in registry_calls),
        (DeadLetterQueue, "supersede", "registry"),
        (metrics, "_emit", "metrics"),
    ):
        _timed(owner, name, component, root=name == "execute")

for variant in VARIANTS:
    with DAG(
        f"bench_orchestration_{variant}",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        params={"input_path": "", "output_dir": ""},
        catchup=False,
    ):
        output = "{{ params.output_dir }}/" + variant
        warm_up = EmptyOperator(task_id="warm_up")
        if variant == "python":
            job = PythonOperator(
                task_id="job",
                python_callable=hand_written,
                op_kwargs={"input_path": "{{ params.input_path }}", "output_dir": output},
                retries=0,
            )
        else:
            job = EnterpriseDataProcessingOperator(
                task_id="job",
                job_name=f"bench_orchestration_{variant}",
                input_path="{{ params.input_path }}",
                output_path=output,
                processing_logic=LOGIC,
                execution_engine=variant,
                retries=0,
            )
        warm_up >> job
