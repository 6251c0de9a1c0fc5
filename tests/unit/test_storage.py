"""The storage connections of a spec and their circuit breakers (no store is called)."""

from __future__ import annotations

import pytest

from airflow_provider_enterprise.spec import validate_job_spec
from airflow_provider_enterprise.storage import breaker_names


def spec(input_path: str, output_path: str, **fields):
    return validate_job_spec(
        {"job_name": "j", "input_path": input_path, "output_path": output_path, "processing_logic": {}, **fields}
    )


@pytest.mark.parametrize(
    ("paths", "fields", "names"),
    [
        (("/data/in.csv", "/data/out"), {}, []),
        (("file:///data/in.csv", "/data/out"), {}, []),
        (("s3a://raw/in.csv", "/data/out"), {}, ["storage:aws_default"]),
        (("s3://raw/in.csv", "s3://curated/out"), {"storage_conn_id": "lake"}, ["storage:lake"]),
        (
            ("gs://raw/in.csv", "abfs://c@acct.dfs.core.windows.net/out"),
            {},
            [
                "storage:google_cloud_default",
                "storage:wasb_default",
            ],
        ),
    ],
)
def test_each_storage_connection_has_a_breaker(paths, fields, names) -> None:
    assert breaker_names(spec(*paths, **fields)) == names
