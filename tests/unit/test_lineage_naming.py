"""OpenLineage dataset names and Airflow asset URIs derived from job paths; the operators' automatic assets."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset, AssetAlias

from airflow_provider_enterprise.assets import SUBMITTED_OUTPUTS_ALIAS, asset_uri
from airflow_provider_enterprise.lineage import dataset_identity
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.operators.submitted_job import EnterpriseSubmittedJobOperator


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("/data/in/sales.csv", ("file", "/data/in/sales.csv")),
        ("/data/raw/day=*/part-*.csv", ("file", "/data/raw")),
        ("file:///data/out/", ("file", "/data/out")),
        ("file://nas01/exports/x", ("file://nas01", "/exports/x")),
        ("s3://lake/sales/2026/", ("s3://lake", "sales/2026")),
        ("s3a://lake/sales", ("s3://lake", "sales")),
        ("gcs://lake/sales", ("gs://lake", "sales")),
        ("abfss://raw@acct.dfs.core.windows.net/sales", ("abfss://raw@acct.dfs.core.windows.net", "sales")),
        ("abfs://raw/sales", ("abfs://raw", "sales")),
    ],
)
def test_dataset_identity_follows_the_naming_spec(path: str, identity: tuple[str, str]) -> None:
    assert dataset_identity(path) == identity


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/data/processed/{{ ds }}", "file:///data/processed"),
        ("/data/processed/{{ ds }}/sales", "file:///data/processed"),
        ("/data/out_{{ ds }}.parquet", "file:///data"),
        ("/data/raw/*.csv", "file:///data/raw"),
        ("s3a://lake/sales/{{ ds }}", "s3://lake/sales"),
        ("gcs://lake/x", "gs://lake/x"),
        ("{{ params.root }}/sales", None),
        ("s3://{{ params.bucket }}/sales", None),
    ],
)
def test_asset_uri_is_the_static_directory_before_a_template(path: str, uri: str | None) -> None:
    assert asset_uri(path) == uri


def test_outputs_are_outlets_and_inputs_inlets_unless_given() -> None:
    operator = EnterpriseDataProcessingOperator(
        task_id="t",
        job_name="j",
        input_path="/data/in/{{ ds }}.csv",
        inputs={"rates": {"path": "s3://ref/rates.parquet"}},
        output_path="/data/out/{{ ds }}",
    )
    assert [a.uri for a in operator.inlets] == ["file:///data/in", "s3://ref/rates.parquet"]
    assert [a.uri for a in operator.outlets] == ["file:///data/out"]
    mine = EnterpriseDataProcessingOperator(
        task_id="u", job_name="j", input_path="/a.csv", output_path="/b", outlets=[Asset("x-custom://b")], inlets=[]
    )
    assert ([a.uri for a in mine.outlets], mine.inlets) == (["x-custom://b"], [])


def test_the_submitted_job_emits_through_an_alias() -> None:
    operator = EnterpriseSubmittedJobOperator(task_id="run_job")
    assert (operator.outlets, operator.inlets) == ([AssetAlias(SUBMITTED_OUTPUTS_ALIAS)], [])


def test_a_failed_check_is_a_failed_assertion_of_the_failure_event() -> None:
    from airflow_provider_enterprise.exceptions import DataQualityError
    from airflow_provider_enterprise.lineage import job_lineage
    from airflow_provider_enterprise.spec import validate_job_spec

    spec = validate_job_spec(
        {
            "job_name": "j",
            "inputs": {"orders": {"path": "s3://lake/orders/", "schema": {"id": "bigint", "amount": "double"}}},
            "output_path": "/data/out",
            "processing_logic": {
                "transformations": [{"type": "derive", "column": "cents", "expression": "amount * 100"}],
                "checks": [
                    {"type": "unique", "columns": ["id"]},
                    {"type": "not_null", "column": "id", "input": "orders"},
                ],
            },
        }
    )
    results = [
        {"name": "unique_id", "type": "unique", "severity": "fail", "target": "output", "outcome": "failed",
         "observed": 2, "failing_rows": 2, "message": "2 rows share a key"},
        {"name": "not_null_id_orders", "type": "not_null", "severity": "fail", "target": "input:orders",
         "outcome": "passed", "observed": 0, "failing_rows": 0, "message": ""},
    ]  # fmt: skip
    lineage = job_lineage(spec, error=DataQualityError("unique_id failed", results))
    (source,), (output,) = lineage.inputs, lineage.outputs
    assert (source.namespace, source.name, output.namespace, output.name) == (
        "s3://lake",
        "orders",
        "file",
        "/data/out",
    )
    (failed,) = output.facets["dataQualityAssertions"].assertions
    assert (failed.assertion, failed.success, failed.column, failed.actual) == ("unique", False, "id", "2")
    (passed,) = source.inputFacets["dataQualityAssertions"].assertions
    assert (passed.name, passed.success) == ("not_null_id_orders", True)
    cents = output.facets["columnLineage"].fields["cents"].inputFields
    assert [(f.namespace, f.name, f.field, f.transformations[0].subtype) for f in cents] == [
        ("s3://lake", "orders", "amount", "TRANSFORMATION")
    ]
    assert "outputStatistics" not in output.outputFacets  # nothing was written


def test_openlineage_is_imported_only_inside_functions() -> None:
    """The OpenLineage provider is optional (its developer guide): no module of the package imports it when loaded."""
    import ast
    from pathlib import Path

    import airflow_provider_enterprise

    def top_level_imports(tree: ast.AST):
        for node in ast.iter_child_nodes(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield from ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
            elif isinstance(node, ast.Try | ast.With) or (
                isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test)
            ):
                yield from top_level_imports(node)

    root = Path(airflow_provider_enterprise.__file__).parent
    found = {
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        for name in top_level_imports(ast.parse(path.read_text()))
        if name.startswith(
            ("openlineage", "airflow.providers.openlineage", "airflow.providers.common.compat.openlineage")
        )
    }
    assert not found
    lineage_methods = {"get_openlineage_facets_on_start", "get_openlineage_facets_on_complete"}
    from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
    from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator

    assert all(
        hasattr(cls, m)
        for cls in (EnterpriseDataProcessingOperator, EnterpriseSparkSubmitOperator)
        for m in lineage_methods
    )
