from __future__ import annotations

import pytest

from airflow_provider_enterprise.spec import (
    EngineName,
    FileFormat,
    GroupByTransformation,
    InputSpec,
    InvalidJobSpec,
    validate_job_spec,
)

BASE = {"job_name": "daily", "input_path": "/data/in.csv", "output_path": "/data/out"}


def spec_with(*transformations: dict, **fields) -> dict:
    return {**BASE, **fields, "processing_logic": {"transformations": list(transformations)}}


def test_seed_spec_is_accepted() -> None:
    spec = validate_job_spec(
        spec_with(
            {"type": "filter", "condition": 'status = "active"'},
            {"type": "select", "columns": ["category", "amount", "status"]},
            {"type": "groupby", "columns": ["category"], "aggregations": {"total_amount": "sum(amount)"}},
            execution_engine="spark",
            timeout=3600,
            priority="high",
        )
    )
    assert spec.execution_engine is EngineName.SPARK
    assert [t.type for t in spec.processing_logic.transformations] == ["filter", "select", "groupby"]
    assert spec.resolved_input_format() is FileFormat.CSV


def test_both_aggregation_shapes_normalize_to_expressions() -> None:
    groupby = GroupByTransformation(
        type="groupby",
        columns=["category"],
        aggregations={"total": "sum(amount)", "amount": "sum", "customers": "count_distinct", "avg_amount": "mean"},
    )
    assert [(a.name, a.expression) for a in groupby.normalized_aggregations()] == [
        ("total", "sum(amount)"),
        ("amount", "sum(`amount`)"),
        ("customers", "count(distinct `customers`)"),
        ("avg_amount", "avg(`avg_amount`)"),
    ]


@pytest.mark.parametrize(
    ("transformations", "expected"),
    [
        ([{"type": "pivot"}], "transformations[0]: Input tag 'pivot'"),
        ([{"type": "select", "columns": ["a"]}, {"type": "filter"}], "transformations[1] (filter).condition: Field"),
        (
            [{"type": "groupby", "columns": ["c"], "aggregations": {"x": "percentile"}}],
            "transformations[0] (groupby).aggregations: aggregation 'x': 'percentile' has no aggregate function",
        ),
        (
            [{"type": "groupby", "columns": ["c"], "aggregations": {"x": "sum(amount"}}],
            "aggregation 'x': cannot parse",
        ),
        (
            [{"type": "filter", "condition": "id IN (SELECT id FROM secrets)"}],
            "transformations[0] (filter).condition: Subquery node is not allowed",
        ),
        ([{"type": "filter", "condition": "a > 1; DROP TABLE jobs"}], "multiple statements are not allowed"),
        ([{"type": "filter", "condition": "reflect('java.lang.Runtime', 'exec', 'id')"}], "function 'reflect'"),
        ([{"type": "filter", "condition": "read_csv('/etc/passwd') IS NOT NULL"}], "function 'read_csv'"),
        ([{"type": "filter", "condition": "x = 1", "extra": True}], "transformations[0] (filter).extra: Extra inputs"),
        ([{"type": "select", "columns": ["a b"]}], "'a b' is not a column name"),
        ([{"type": "select", "columns": []}], "transformations[0] (select).columns: List should have at least 1"),
    ],
)
def test_bad_specs_name_index_field_and_value(transformations: list[dict], expected: str) -> None:
    with pytest.raises(InvalidJobSpec) as raised:
        validate_job_spec(spec_with(*transformations))
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"execution_engine": "gpu"}, "execution_engine: Input should be 'spark', 'local' or 'auto' (got 'gpu')"),
        ({"timeout": -5}, "timeout: Input should be greater than 0"),
        ({"output_path": "/data/in.csv"}, "output_path '/data/in.csv' is input 'input'"),
        ({"job_name": ""}, "job_name: String should have at least 1 character"),
    ],
)
def test_bad_job_fields_are_named(fields: dict, expected: str) -> None:
    with pytest.raises(InvalidJobSpec, match="invalid job spec") as raised:
        validate_job_spec({**BASE, **fields})
    assert expected in str(raised.value)


def test_templates_are_deferred_at_parse_time_and_checked_after_rendering() -> None:
    templated = spec_with({"type": "filter", "condition": "amount > {{ params.min_amount }}"})
    with pytest.raises(InvalidJobSpec, match="cannot parse"):
        validate_job_spec(templated)
    assert validate_job_spec(templated, allow_templates=True).processing_logic.transformations[0].condition
    # Templates do not hide non-template mistakes.
    with pytest.raises(InvalidJobSpec, match="function 'reflect'"):
        validate_job_spec(
            spec_with(
                {"type": "filter", "condition": "status = '{{ params.status }}'"},
                {"type": "filter", "condition": "reflect('a', 'b')"},
            ),
            allow_templates=True,
        )


def test_input_format_must_be_inferable() -> None:
    spec = validate_job_spec({**BASE, "input_path": "/data/in.dat"})
    with pytest.raises(ValueError, match="cannot infer the format of input"):
        spec.resolved_input_format()
    assert validate_job_spec({**BASE, "input_path": "/d/x.parquet"}).resolved_input_format() is FileFormat.PARQUET


@pytest.mark.parametrize("data", ["not a spec", ["job_name"], None])
def test_a_spec_that_is_not_a_mapping_is_an_invalid_spec(data) -> None:
    with pytest.raises(InvalidJobSpec, match="a spec is a mapping of fields, not"):
        validate_job_spec(data)


def test_an_input_is_listed_once_and_a_copy_with_another_path_lists_its_own(tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    source = InputSpec(path=str(folder))
    assert source.files() == [str(folder / "a.csv")]
    (folder / "b.csv").write_text("x\n2\n")
    assert source.files() == [str(folder / "a.csv")]  # the run's listing: what routing measured is what is read
    assert InputSpec(path=str(folder)).files() == [str(folder / "a.csv"), str(folder / "b.csv")]
    assert source.model_copy(update={"path": str(folder / "b.csv")}).files() == [str(folder / "b.csv")]
    assert source == InputSpec(path=str(folder)) and hash(source) == hash(InputSpec(path=str(folder)))


def test_a_directory_whose_name_reads_as_a_glob_takes_its_files_format(tmp_path) -> None:
    folder = tmp_path / "in[1]"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(b"")
    assert InputSpec(path=str(folder)).resolved_format() is FileFormat.PARQUET
