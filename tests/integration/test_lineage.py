"""
Lineage of the example DAG through ``airflow dags test`` (``dag.test()`` in a process of its own, so the
OpenLineage provider's listener is configured from the environment): the events its real listener writes
through a file transport, checked against openlineage-python's model, with the column lineage of a derive and a
group-by; and the asset event of the committed output in Airflow's database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy

from support.env import airflow_on_examples
from support.jobs import job_of
from support.openlineage import check_event

pytestmark = pytest.mark.integration

DAG_ID = "enterprise_lineage_producer"
TASK_ID = "category_totals"
SAMPLE = Path(__file__).resolve().parents[2] / "dags" / "data" / "transactions.csv"


def _origins(fields: dict, column: str) -> dict[str, tuple[str, str, str | None]]:
    """An output column's input fields: name -> (dataset name, subtype, description)."""
    return {
        f["field"]: (f["name"], f["transformations"][0]["subtype"], f["transformations"][0].get("description"))
        for f in fields[column]["inputFields"]
    }


def test_example_producer_emits_checked_events_with_column_lineage_and_an_asset_event(
    airflow_db: str, registry, registry_url: str, tmp_path: Path
) -> None:
    events_file = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    airflow_on_examples(
        registry_url,
        tmp_path,
        "dags",
        "test",
        DAG_ID,
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        AIRFLOW__OPENLINEAGE__NAMESPACE="enterprise-tests",
    )
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    for event in events:  # the DAG run's events too: every event the listener wrote
        check_event(event)
    ours = {e["eventType"]: e for e in events if e["job"]["name"] == f"{DAG_ID}.{TASK_ID}"}
    assert set(ours) == {"START", "COMPLETE"}, [(e["job"]["name"], e["eventType"]) for e in events]

    (job,) = registry.list_jobs(dag_id=DAG_ID)
    (attempt,) = registry.get_job(job["job_id"])["attempts"]
    output = Path(attempt["output_path"])
    assert output.parent == tmp_path / "lineage" / "category_totals"
    for event in ours.values():
        source, target = event["inputs"][0], event["outputs"][0]
        assert (source["namespace"], source["name"]) == ("file", str(SAMPLE))
        assert (target["namespace"], target["name"]) == ("file", str(output))
        assert [f["name"] for f in target["facets"]["schema"]["fields"]] == [
            "category",
            "country",
            "total_eur",
            "transactions",
        ]
    # the declared schema plans the job before it runs: the START event has its column lineage already
    start, complete = ours["START"]["outputs"][0], ours["COMPLETE"]["outputs"][0]
    assert start["facets"]["columnLineage"] == complete["facets"]["columnLineage"]
    lineage = complete["facets"]["columnLineage"]
    assert _origins(lineage["fields"], "category") == {"category": (str(SAMPLE), "IDENTITY", None)}
    assert _origins(lineage["fields"], "total_eur") == {
        "amount": (str(SAMPLE), "AGGREGATION", "round(amount * 0.92, 2); sum(amount_eur)")
    }
    assert "transactions" not in lineage["fields"]  # count(*) reads no column
    indirect = {(f["field"], t["subtype"]) for f in lineage["dataset"] for t in f["transformations"]}
    assert indirect == {("status", "FILTER"), ("category", "GROUP_BY"), ("country", "GROUP_BY")}
    statistics = complete["outputFacets"]["outputStatistics"]
    data_files = sorted(output.glob("*.parquet"))
    assert statistics["rowCount"] == attempt["rows_out"] > 0
    assert statistics["size"] == sum(f.stat().st_size for f in data_files) > 0
    assert "outputStatistics" not in start.get("outputFacets", {})
    # the checks' results as data-quality assertions: on the output, and on the input the check names
    assertions = {a["name"]: a for a in complete["facets"]["dataQualityAssertions"]["assertions"]}
    assert {n: (a["assertion"], a["success"], a["severity"]) for n, a in assertions.items()} == {
        "not_null_category": ("not_null", True, "fail"),
        "row_count": ("row_count", True, "fail"),
        "total_eur_plausible": ("range", False, "warn"),
    }
    assert assertions["total_eur_plausible"]["column"] == "total_eur"
    (on_input,) = ours["COMPLETE"]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert (on_input["assertion"], on_input["column"], on_input["success"]) == ("accepted_values", "status", True)

    ((uri, extra),) = asset_events(airflow_db, DAG_ID)
    assert uri == f"file://{tmp_path}/lineage/category_totals"  # the static directory before the template
    extra = extra if isinstance(extra, dict) else json.loads(extra)
    assert (extra["output_path"], extra["rows_out"], extra["bad_rows"]) == (str(output), attempt["rows_out"], 0)
    assert extra["checks"] == {"passed": 3, "warned": 1, "not_passed": ["total_eur_plausible"]}
    manifest = json.loads(Path(extra["manifest"]).read_text())  # the local engine's _manifest.json
    assert {f.name for f in data_files} <= set(manifest["files"])


def asset_events(airflow_db: str, dag_id: str) -> list[tuple[str, dict]]:
    engine = sqlalchemy.create_engine(airflow_db)
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text(
                "SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE e.source_dag_id = :dag_id ORDER BY e.id"
            ),
            {"dag_id": dag_id},
        ).all()
    engine.dispose()
    return [(uri, extra if isinstance(extra, dict) else json.loads(extra)) for uri, extra in rows]


def test_a_submitted_job_emits_its_output_asset_event_through_the_alias(
    airflow_db: str, dags, registry, tmp_path: Path
) -> None:
    from airflow_provider_enterprise.clients.jobs import Job

    output = tmp_path / "submitted" / "active"
    job = Job(
        job_name="submitted_lineage",
        input_path=str(SAMPLE),
        output_path=str(output),
        execution_engine="local",
        processing_logic={"transformations": [{"type": "filter", "condition": "status = 'active'"}]},
    )
    dag_run = dags.submitted_jobs.test(run_conf=job.conf())
    assert dag_run.state == "success"
    (attempt,) = job_of(registry, dag_run, task_id="run_job")["attempts"]
    # the session's other runs of the generic job DAG emit events too: this run's is the one for its own output
    events = [(uri, extra) for uri, extra in asset_events(airflow_db, dags.submitted_jobs.dag_id) if str(output) in uri]
    ((uri, extra),) = events
    assert uri == f"file://{output}"
    assert (extra["output_path"], extra["rows_out"]) == (str(output), attempt["rows_out"])
    assert attempt["rows_out"] > 0
