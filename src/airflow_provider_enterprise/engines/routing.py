"""
Choose the engine of an ``execution_engine='auto'`` job: hard rules first, then a cost model.

Rules, in order: an engine that is disabled or unavailable (Spark's breaker open with fallback allowed, its
master unreachable) is not chosen; an input larger than ``engines.routing.local_max_bytes`` (default: the
free disk where the output goes) goes to Spark. Otherwise each engine's time is estimated as
``fixed_seconds + rows / rate`` (Spark's rate times the cores its cluster has free) and the faster one wins.
Rows are estimated from the inputs' sizes. The decision, its reason and the numbers are logged and stored on
the attempt.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.config import Settings
from airflow_provider_enterprise.engines.object_inputs import input_objects
from airflow_provider_enterprise.spec import EngineName, InputSpec, JobSpec
from airflow_provider_enterprise.spec.locations import scheme_of

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


@dataclass(frozen=True)
class RoutingDecision:
    """The engine chosen for a job, why, and the cost model's numbers (None where not computed)."""

    engine: EngineName
    reason: str
    input_bytes: int
    estimated_rows: int
    local_seconds: float | None = None
    spark_seconds: float | None = None
    spark_cores: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "engine": self.engine.value}


def input_sizes(spec: JobSpec, filesystems: Mapping[str, AbstractFileSystem] | None = None) -> dict[str, int]:
    """Bytes of the files each input reads, by input name; an object store's from its listing (nothing is read)."""
    sizes = {}
    for name, source in spec.inputs.items():
        store = scheme_of(source.path)
        if store:
            sizes[name] = sum(input_objects((filesystems or {})[store], source).sizes.values())
        else:
            sizes[name] = sum(os.path.getsize(f) for f in source.files())
    return sizes


def _bytes_per_row(source: InputSpec, per_row: Mapping[str, float]) -> float:
    try:
        return per_row.get(source.resolved_format().value, 100.0)
    except ValueError:  # an object-store prefix without a format: its objects' suffix is read when it runs
        return 100.0


def estimated_rows(spec: JobSpec, settings: Settings, sizes: dict[str, int]) -> int:
    """Rows of all inputs, estimated from their sizes and ``engines.routing.bytes_per_row``."""
    per_row = settings.engines.routing.bytes_per_row
    return int(sum(size / _bytes_per_row(spec.inputs[name], per_row) for name, size in sizes.items()))


def _free_bytes(output_path: str) -> int:
    """Free disk where the local engine writes: beside a local output, in the temporary directory for an object
    store's (where it also copies the inputs)."""
    existing = Path(tempfile.gettempdir() if scheme_of(output_path) else output_path)
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def choose_engine(
    spec: JobSpec,
    settings: Settings,
    *,
    spark_cores: int | None,
    spark_unavailable: str | None = None,
    filesystems: Mapping[str, AbstractFileSystem] | None = None,
) -> RoutingDecision:
    """
    Choose where ``spec`` runs.

    :param spark_cores: cores the Spark target can give the job now (None: unknown, the configured
        ``executor_cores * max_executors`` is assumed).
    :param spark_unavailable: why Spark cannot take the job now (an open breaker, an unreachable master), if so.
    :param filesystems: the filesystems of the object stores the job's paths name, by store.
    """
    routing = settings.engines.routing
    sizes = input_sizes(spec, filesystems)
    size, rows = sum(sizes.values()), estimated_rows(spec, settings, sizes)
    facts = {"input_bytes": size, "estimated_rows": rows}
    spark_enabled, local_enabled = settings.engines.spark.enabled, settings.engines.local.enabled
    if not spark_enabled or spark_unavailable:
        why = spark_unavailable or "the spark engine is disabled"
        return RoutingDecision(EngineName.LOCAL, f"{why}: local", **facts)
    if not local_enabled:
        return RoutingDecision(EngineName.SPARK, "the local engine is disabled: spark", **facts)
    limit = routing.local_max_bytes if routing.local_max_bytes is not None else _free_bytes(spec.output_path)
    if size > limit:
        return RoutingDecision(EngineName.SPARK, f"input of {size} bytes exceeds the local limit of {limit}", **facts)
    cores = spark_cores if spark_cores else settings.engines.spark.executor_cores * settings.engines.spark.max_executors
    local = routing.local_fixed_seconds + rows / routing.local_rows_per_second
    spark = routing.spark_fixed_seconds + rows / (routing.spark_rows_per_second_per_core * cores)
    engine = EngineName.LOCAL if local <= spark else EngineName.SPARK
    return RoutingDecision(
        engine,
        f"estimated {local:.1f} s local vs {spark:.1f} s on spark ({cores} cores): {engine.value}",
        **facts,
        local_seconds=round(local, 3),
        spark_seconds=round(spark, 3),
        spark_cores=cores,
    )
