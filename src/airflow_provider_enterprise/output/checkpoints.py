"""
Stage checkpoints of multi-stage jobs.

Each stage's result is committed atomically (``_SUCCESS`` written last, then renamed into place) under
``.<output name>.checkpoints/`` beside the output, named by the stage index and a fingerprint of everything
that determines it (input, format, the transformations up to it). A retry resumes after the last committed
stage whose fingerprint still matches; a half-written stage is never read. The checkpoints are removed once
the job's output is committed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from airflow_provider_enterprise.output.commit import is_committed
from airflow_provider_enterprise.spec import JobSpec


class StageCheckpoints:
    """The checkpoints of one job's stages."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        output = Path(spec.output_path)
        self.root = output.parent / f".{output.name}.checkpoints"

    def fingerprint(self, stage: int) -> str:
        """Identify stage ``stage`` by the input and the transformations up to and including it."""
        basis = {
            "inputs": {name: source.model_dump(mode="json") for name, source in self.spec.inputs.items()},
            "primary_input": self.spec.primary_input,
            "transformations": [
                t.model_dump(mode="json") for t in self.spec.processing_logic.transformations[: stage + 1]
            ],
        }
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]

    def path(self, stage: int) -> Path:
        return self.root / f"stage-{stage:03d}-{self.fingerprint(stage)}"

    def last_committed(self) -> int | None:
        """Return the index of the last stage whose checkpoint is committed and current, or None."""
        for stage in reversed(range(len(self.spec.processing_logic.transformations))):
            if is_committed(self.path(stage)):
                return stage
        return None

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
