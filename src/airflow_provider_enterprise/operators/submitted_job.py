"""The task of the generic job DAG: run the job spec a DAG run was submitted with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias

from airflow_provider_enterprise.assets import SUBMITTED_OUTPUTS_ALIAS
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.spec.submission import SUBMISSION_FIELDS

if TYPE_CHECKING:
    from airflow.sdk import Context


class EnterpriseSubmittedJobOperator(EnterpriseDataProcessingOperator):
    """
    Run the job spec given as the DAG run's params (``job_name``, ``execution_engine``, ``input_path``, ...).

    Airflow checks the params against the trigger form's JSON Schema when the run is created; this task then
    validates the whole spec with the engines' models (expressions included) before anything runs, and fails
    without retries, the field named, when it is bad. Every try is an attempt of the job in the registry,
    named as the submission names it, with the same retries, breakers and dead letters as any other job.
    Its outlet is the asset alias ``enterprise-submitted-job-outputs``: each committed output adds an event of
    its own asset (the URI from its path, see :mod:`airflow_provider_enterprise.assets`), so a DAG scheduled on
    that asset runs after it.

    :param kwargs: the registry, retry and breaker settings of
        :class:`~airflow_provider_enterprise.operators.data_processing.EnterpriseDataProcessingOperator`.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("job_name", "submitted_job")  # replaced by the submission's name when the task runs
        # outputs known only at run time: their asset events go through an alias (assets.record_output_event)
        kwargs.setdefault("outlets", [AssetAlias(SUBMITTED_OUTPUTS_ALIAS)])
        kwargs.setdefault("inlets", [])
        super().__init__(output_path="(from the submission)", **kwargs)
        self._submission: dict[str, Any] = {}

    def _validate_at_parse_time(self) -> None:
        """Nothing to check when the DAG is parsed: the spec arrives with each run."""

    def _spec_data(self) -> dict[str, Any]:
        return dict(self._submission)

    def execute(self, context: Context) -> dict[str, Any]:
        params = context["params"]
        self._submission = {name: params[name] for name in SUBMISSION_FIELDS if params.get(name) is not None}
        self.job_name = str(self._submission.get("job_name") or self.job_name)
        self.job_type = str(self._submission.get("job_type") or self.job_type)
        self.priority = str(self._submission.get("priority") or self.priority)
        self.job_data = self._submission.get("job_data") or {}
        self.execution_engine = str(self._submission.get("execution_engine") or self.execution_engine)
        return super().execute(context)
