"""
OpenLineage for the job operators: datasets named from their paths, schema and column lineage from the plan,
output statistics from the job's result, data-quality assertions from its checks.

The OpenLineage provider (``apache-airflow-providers-openlineage``, the ``lineage`` extra) is optional: this
module imports it only inside the functions that build facets, which the operators call from their
``get_openlineage_facets_on_*`` methods, so the provider works without it.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_enterprise.compiler.lineage import ColumnLineage, column_lineage
from airflow_provider_enterprise.compiler.plan import Column, Plan, PlanError, plan_from_declared_schemas, plan_job
from airflow_provider_enterprise.spec.locations import SCHEMES, split_glob

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import RunFacet
    from openlineage.client.generated.column_lineage_dataset import ColumnLineageDatasetFacet
    from openlineage.client.generated.data_quality_assertions_dataset import DataQualityAssertionsDatasetFacet
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacet

    from airflow_provider_enterprise.engines.base import JobResult
    from airflow_provider_enterprise.spec import JobSpec

    #: What the OpenLineage methods of a job's operator return.
    JobLineage = OperatorLineage[Dataset, RunFacet]

#: The OpenLineage namespace of a local path (the naming spec's local filesystem, as Airflow names ``file://`` assets).
LOCAL_NAMESPACE = "file"


def dataset_root(path: str) -> str:
    """The location a path stands for as a dataset: a glob's fixed directory, without a trailing ``/``."""
    head, sep, rest = path.partition("://")
    prefix, key = (f"{head}://", rest) if sep else ("", path)
    if glob.has_magic(key):
        key = split_glob(key)[0] or ("/" if key.startswith("/") else ".")
    key = key.rstrip("/") or "/"
    return prefix + key


def dataset_identity(path: str) -> tuple[str, str]:
    """
    The OpenLineage namespace and name of the dataset at ``path``, by the naming spec: ``file`` and the absolute
    path for a local path (``file://host`` for a ``file://host/...`` URI), ``s3://bucket`` (``s3a`` too),
    ``gs://bucket`` and ``abfss://container@account.dfs.core.windows.net`` (``abfs://container`` when the URI
    names no account) and the object key.
    """
    root = dataset_root(path)
    if "://" not in root:
        return LOCAL_NAMESPACE, os.path.abspath(os.path.expanduser(root))
    uri = urlsplit(root)
    store = SCHEMES.get(uri.scheme.lower(), uri.scheme.lower())
    if store == "":  # file://
        return (f"file://{uri.netloc}" if uri.netloc else LOCAL_NAMESPACE), uri.path or "/"
    key = uri.path.lstrip("/") or "/"
    if store == "abfs" and "@" in uri.netloc:
        container, account = uri.netloc.split("@", 1)
        account = account if "." in account else f"{account}.dfs.core.windows.net"
        return f"abfss://{container}@{account}", key
    return f"{store}://{uri.netloc}", key


def job_plan(spec: JobSpec, input_columns: Mapping[str, Sequence[Sequence[str | None]]] | None = None) -> Plan | None:
    """
    The plan of ``spec``: over the input columns a run found (a job result's ``input_columns``), else over the
    inputs' declared schemas; None when neither knows every input's columns.
    """
    try:
        if input_columns and all(name in input_columns for name in spec.inputs):
            columns = {name: tuple(Column(str(n), t) for n, t in input_columns[name]) for name in spec.inputs}
            return plan_job(spec, columns)
        return plan_from_declared_schemas(spec)
    except PlanError:  # lineage never fails a job: the job itself reports a plan that does not fit
        return None


def _schema(columns: Sequence[Column]) -> SchemaDatasetFacet:
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields

    return SchemaDatasetFacet(fields=[SchemaDatasetFacetFields(name=c.name, type=c.type) for c in columns])


def _column_lineage(lineage: ColumnLineage, identities: Mapping[str, tuple[str, str]]) -> ColumnLineageDatasetFacet:
    from openlineage.client.generated.column_lineage_dataset import (
        ColumnLineageDatasetFacet,
        Fields,
        InputField,
        Transformation,
    )

    def field(source: tuple[str, str], *transformations: Transformation) -> InputField:
        namespace, name = identities[source[0]]
        return InputField(namespace=namespace, name=name, field=source[1], transformations=list(transformations))

    fields = {
        column: Fields(
            inputFields=[
                field(
                    source,
                    Transformation(
                        type="DIRECT",
                        subtype=how.subtype.value,
                        description="; ".join(how.descriptions) or None,
                        masking=how.masking,
                    ),
                )
                for source, how in origins.items()
            ]
        )
        for column, origins in lineage.fields.items()
    }
    dataset = [
        field(source, *(Transformation(type="INDIRECT", subtype=s.value) for s in sorted(subtypes)))
        for source, subtypes in lineage.dataset.items()
    ]
    return ColumnLineageDatasetFacet(fields=fields, dataset=dataset)


def check_results(source: Any) -> list[dict[str, Any]]:
    """
    The data-quality check results of a job's result (``JobResult.checks``) or of the error that withheld its
    output (``DataQualityError.results``): dicts with ``name``, ``type``, ``severity``, ``target``, ``outcome``,
    ``observed``, ``failing_rows``, ``message``; empty without checks.
    """
    return list(getattr(source, "checks", None) or getattr(source, "results", None) or [])


def _assertions(
    spec: JobSpec, results: Sequence[Mapping[str, Any]], target: str
) -> DataQualityAssertionsDatasetFacet | None:
    """The ``dataQualityAssertions`` facet of the checks run on ``target`` (``output``, or ``input:<name>``)."""
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )

    declared = {c.check_name: c for c in getattr(spec.processing_logic, "checks", [])}
    assertions = []
    for result in results:
        if result.get("target", "output") != target:
            continue
        check = declared.get(result["name"])
        columns = check.columns() if check is not None else []
        assertions.append(
            Assertion(
                assertion=str(result["type"]),
                success=result["outcome"] == "passed",
                column=",".join(columns) or None,
                severity=str(result.get("severity")),
                name=str(result["name"]),
                actual=None if result.get("observed") is None else str(result["observed"]),
                description=result.get("message") or None,
            )
        )
    return DataQualityAssertionsDatasetFacet(assertions=assertions) if assertions else None


def _output_size(spec: JobSpec, result: JobResult) -> int | None:
    """The bytes of the committed output's data files (not its quarantine or markers); None on an object store."""
    if "://" in spec.output_path:
        return None
    data = [f for f in result.output_files if not any(p.startswith(("_", ".")) for p in f.split("/"))]
    try:
        return sum(os.path.getsize(os.path.join(spec.output_path, f)) for f in data)
    except OSError:  # replaced meanwhile by a later run
        return None


def job_lineage(spec: JobSpec, result: JobResult | None = None, error: BaseException | None = None) -> JobLineage:
    """
    The OpenLineage datasets and facets of a job: each input (with its schema, and the assertions of the checks
    run on it) and the output (its schema, ``columnLineage``, assertions and, once the job ran, its
    ``outputStatistics``). Schemas and column lineage need the plan: the run's (``result.input_columns``) or the
    declared schemas'; without either the datasets carry no schema. A failed run's ``error`` gives the assertions
    of the checks that withheld the output.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.generated.base import (
        DatasetFacet,
        InputDataset,
        InputDatasetFacet,
        OutputDataset,
        OutputDatasetFacet,
    )
    from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

    plan = job_plan(spec, getattr(result, "input_columns", None))
    checks = check_results(result if result is not None else error)
    identities = {name: dataset_identity(source.path) for name, source in spec.inputs.items()}
    inputs: list[Dataset] = []
    for name, (namespace, dataset) in identities.items():
        schema: dict[str, DatasetFacet] = {"schema": _schema(plan.inputs[name])} if plan else {}
        assertions = _assertions(spec, checks, f"input:{name}")
        input_facets: dict[str, InputDatasetFacet] = {"dataQualityAssertions": assertions} if assertions else {}
        inputs.append(InputDataset(namespace=namespace, name=dataset, facets=schema, inputFacets=input_facets))
    facets: dict[str, Any] = {}
    if plan is not None:
        facets = {"schema": _schema(plan.columns), "columnLineage": _column_lineage(column_lineage(plan), identities)}
    if assertions := _assertions(spec, checks, "output"):
        facets["dataQualityAssertions"] = assertions
    output_facets: dict[str, OutputDatasetFacet] = {}
    if result is not None:
        output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(
            rowCount=result.rows_out, size=_output_size(spec, result), fileCount=len(result.output_files)
        )
    namespace, name = dataset_identity(spec.output_path)
    output = OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=output_facets)
    run_facets = application_facets(getattr(result, "external_id", None))
    return OperatorLineage(inputs=inputs, outputs=[output], run_facets=run_facets)


def application_facets(external_id: str | None, source: str = "spark") -> dict[str, Any]:
    """The ``externalQuery`` run facet naming the Spark application that ran the job, when one did."""
    if not external_id:
        return {}
    from openlineage.client.generated.external_query_run import ExternalQueryRunFacet

    return {"externalQuery": ExternalQueryRunFacet(externalQueryId=str(external_id), source=source)}


def inject_spark_lineage(engine: Any, context: Any) -> None:
    """
    Give the Spark engine's applications the OpenLineage parent job and transport (:func:`spark_lineage_conf`) as
    ``engines.spark.openlineage_inject_*`` say: in the engine's settings' conf, so that they reach spark-submit's
    ``--conf`` (a job's own ``conf`` still wins) but not the job spec the driver reads or the attempt records.
    Another engine is left as it is.
    """
    settings = getattr(engine, "settings", None)
    if getattr(engine, "name", None) != "spark" or settings is None:
        return
    parent_job, transport = settings.openlineage_injection()
    conf = spark_lineage_conf(settings.conf, context, parent_job=parent_job, transport=transport)
    engine.settings = settings.model_copy(update={"conf": conf})


class JobLineageMixin:
    """
    The OpenLineage methods of an operator that runs a job spec (``_spec_data()``, see
    :class:`~airflow_provider_enterprise.operators.data_processing.EnterpriseDataProcessingOperator`): the start
    event names the rendered spec's datasets, the complete and failure events what the run recorded with
    :meth:`remember_for_lineage`.
    """

    _lineage_run: tuple[JobSpec | None, JobResult | None, BaseException | None] = (None, None, None)

    def remember_for_lineage(
        self, spec: JobSpec | None, result: JobResult | None = None, error: BaseException | None = None
    ) -> None:
        """Keep what a try ran and how it ended, for the OpenLineage event of its end."""
        self._lineage_run = (spec, result, error)

    if TYPE_CHECKING:

        def _spec_data(self) -> dict[str, Any]:
            """The operator's rendered spec, as data."""
            ...

    def _lineage_spec(self) -> JobSpec | None:
        from airflow_provider_enterprise.spec import validate_job_spec

        spec = self._lineage_run[0]
        if spec is not None:
            return spec
        try:
            return validate_job_spec(self._spec_data())
        except Exception:  # a spec the task will reject (and record) is no lineage
            return None

    def _lineage(self, *, ended: bool) -> JobLineage:
        from airflow.providers.openlineage.extractors import OperatorLineage

        spec = self._lineage_spec()
        if spec is None:
            return OperatorLineage()
        _, result, error = self._lineage_run if ended else (None, None, None)
        return job_lineage(spec, result, error)

    def get_openlineage_facets_on_start(self) -> JobLineage:
        return self._lineage(ended=False)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> JobLineage:
        return self._lineage(ended=True)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> JobLineage:
        return self._lineage(ended=True)


def spark_lineage_conf(conf: Mapping[str, str], context: Any, *, parent_job: bool, transport: bool) -> dict[str, str]:
    """
    ``conf`` with the OpenLineage properties the official Spark provider injects: the parent job (this task's
    run, so the Spark application's events hang below it) and the transport (the HTTP endpoint Airflow's events
    go to). Returned unchanged without the OpenLineage provider, or where ``conf`` sets them already.
    """
    if not (parent_job or transport):
        return dict(conf)
    from airflow_provider_enterprise.security.redaction import register_secret

    try:
        from airflow.providers.common.compat.openlineage.utils.spark import (
            inject_parent_job_information_into_spark_properties,
            inject_transport_information_into_spark_properties,
        )
    except ImportError:  # neither the OpenLineage nor a provider that brings common.compat
        return dict(conf)

    properties = dict(conf)
    if parent_job:
        properties = inject_parent_job_information_into_spark_properties(properties, context)
    if transport:
        properties = inject_transport_information_into_spark_properties(properties, context)
    for key, value in properties.items():  # the transport's API key and headers: masked in the task log
        if key not in conf and (".auth." in key or ".headers." in key):
            register_secret(str(value))
    return {str(k): str(v) for k, v in properties.items()}
