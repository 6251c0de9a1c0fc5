"""
Count each input's records and bad rows, in the scan that writes the output wherever that count is exact.

A CSV input is checked row by row (:mod:`airflow_provider_enterprise.compiler.bad_rows`). Counting its records
and bad rows in a scan of their own reads the file twice; an ``Observation`` on the checked rows counts them in
the write's own scan instead. That count is used only where it is exact:

- on a classic session without speculative tasks (Spark Connect cannot tell whether a stage ran twice);
- for a CSV input the transformations read exactly once (the primary input, or one join or union);
- when no task of the write failed and no stage ran a second attempt (a re-run stage counts its rows again);
- when the executed plan kept the observed subtree: the optimizer drops a subtree it proves empty (a filter that
  is always false; under adaptive execution, a join whose other side came out empty) and Spark then reports no
  metrics at all, or zeros.

Every other input, and an observed one whose count cannot be trusted, is counted with a scan of its own
(:meth:`~airflow_provider_enterprise.spark_app.inputs.SparkInput.count`). No Airflow imports: this runs on Spark
drivers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow_provider_enterprise.spark_app.inputs import InputCount, SparkInput, counted
from airflow_provider_enterprise.spec import JobSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation, SparkSession

log = logging.getLogger(__name__)

_JOB_GROUP = "spark.jobGroup.id"


class InputCounter:
    """
    Counts a job's inputs: in the write's scan where that is exact, else in scans of their own.

    :param spark: the job's session.
    :param spec: the job (which inputs its transformations read, and how often).
    :param inputs: the inputs as read.
    """

    def __init__(self, spark: SparkSession, spec: JobSpec, inputs: Mapping[str, SparkInput]) -> None:
        self._spark = spark
        self._inputs = inputs
        self._observations: dict[str, Observation] = {}
        self._group: str | None = None
        self.counted_in_write: set[str] = set()
        """The inputs whose counts came from the write's scan (after :meth:`observed`)."""
        self.frames: dict[str, DataFrame] = {name: read.good for name, read in inputs.items()}
        """The good rows of each input, for the plan: observed where the write counts them."""
        if not self._can_observe():
            return
        from pyspark.sql import Observation

        reads = spec.processing_logic.input_reads(spec.primary_input)
        for name, read in inputs.items():
            if read.checked is not None and reads[name] == 1:
                self._observations[name] = Observation(f"enterprise_input_{uuid.uuid4().hex[:12]}")
                self.frames[name] = read.observed(self._observations[name])

    def _can_observe(self) -> bool:
        from pyspark.sql.session import SparkSession as ClassicSession  # a Spark Connect session is not one

        if not isinstance(self._spark, ClassicSession):
            return False
        return self._spark.sparkContext.getConf().get("spark.speculation", "false").lower() != "true"

    def scanned(self) -> dict[str, InputCount]:
        """Count the inputs the write does not count, each with a scan of its own."""
        return {name: read.count() for name, read in self._inputs.items() if name not in self._observations}

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Run the write inside this block: its Spark jobs are tagged, to check afterwards that none ran twice."""
        if not self._observations:
            yield
            return
        context = self._spark.sparkContext
        previous = context.getLocalProperty(_JOB_GROUP)
        self._group = f"enterprise-write-{uuid.uuid4().hex[:12]}"
        context.setLocalProperty(_JOB_GROUP, self._group)
        try:
            yield
        finally:
            context.setLocalProperty(_JOB_GROUP, previous)  # type: ignore[arg-type]  # None removes it

    def observed(self) -> dict[str, InputCount]:
        """
        Return the counts of the inputs the write counted (call after :meth:`counting`).

        An input whose observed count is not exact (see the module docstring) is counted again with a scan.
        """
        if not self._observations:
            return {}
        if self._group is None:
            raise RuntimeError("observed() needs the write to have run inside counting()")
        rerun = rerun_reason(self._spark, self._group)
        counts = {}
        for name, observation in self._observations.items():
            counted = None if rerun else _metrics(observation)
            if counted is None:
                log.info(
                    "Input %r: counting its records with a scan of their own (%s)",
                    name,
                    rerun or "the write's plan dropped the observed rows",
                )
                counted = self._inputs[name].count()
            else:
                self.counted_in_write.add(name)
            counts[name] = counted
        return counts


def rerun_reason(spark: SparkSession, group: str) -> str | None:
    """Why the Spark jobs of job group ``group`` may have counted a partition twice, or None if every task ran once."""
    tracker = spark.sparkContext.statusTracker()
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        if job is None:
            return f"job {job_id} of the write is no longer tracked"
        for stage_id in job.stageIds:
            stage = tracker.getStageInfo(stage_id)
            if stage is None:
                return f"stage {stage_id} of the write is no longer tracked"
            if stage.currentAttemptId > 0 or stage.numFailedTasks > 0:
                return f"stage {stage_id} of the write had failed tasks or ran again"
    return None


def _metrics(observation: Observation) -> InputCount | None:
    """The observed count, or None when the executed plan did not count them."""
    from py4j.protocol import Py4JJavaError

    try:
        metrics = observation.get
    except Py4JJavaError:  # an empty row: the observed subtree was not in the executed plan
        return None
    if not metrics.get(
        "records"
    ):  # zeros may be defaults for a dropped subtree; an empty input is cheap to count again
        return None
    return counted(metrics)
