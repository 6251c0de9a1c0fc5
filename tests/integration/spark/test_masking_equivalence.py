"""
``mask`` on DuckDB and on Spark: the RFC 4231 HMAC-SHA-256 vectors through the SQL both engines get, and one
masking spec giving the same rows on both, equal to Python's ``hmac`` for the hashes.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pyarrow as pa
import pytest
from sqlglot import exp

from airflow_provider_enterprise.compiler import duckdb as duckdb_backend
from airflow_provider_enterprise.compiler import spark as spark_backend
from airflow_provider_enterprise.compiler.masking import (
    INNER_PAD,
    KEY_ALIAS,
    OUTER_PAD,
    MaskingKey,
    hmac_sha256,
    key_relation,
)
from airflow_provider_enterprise.compiler.plan import Column, build_plan
from airflow_provider_enterprise.engines.local import _register_keys
from airflow_provider_enterprise.spark_app.job import _key_frames
from airflow_provider_enterprise.spec import ProcessingLogic
from support.rfc4231 import VECTORS

pytestmark = pytest.mark.integration

KEY = MaskingKey("2026-12", b"integration-masking-key-\x00\xff-binary")
CONN_ID = "enterprise_masking_default"
ROWS = [
    {"id": 1, "email": "ada@example.com", "card": "4111111111111111", "name": "Ada", "phone": "+44 20 7946 0000"},
    {"id": 2, "email": "Grüße@bücher.de", "card": "12", "name": "Jürgen", "phone": None},
    {"id": 3, "email": "", "card": "", "name": "", "phone": ""},
    {"id": 4, "email": None, "card": None, "name": None, "phone": "1"},
    {"id": 5, "email": "😀 emoji", "card": "ab😀cdef", "name": "x", "phone": "2"},
]
COLUMNS = tuple(Column(name, "bigint" if name == "id" else "string") for name in ROWS[0])
LOGIC = ProcessingLogic.model_validate(
    {
        "transformations": [
            {
                "type": "mask",
                "columns": {
                    "email": "hash",
                    "id": "hash",
                    "card": {"method": "partial", "keep_last": 4},
                    "name": {"method": "redact", "replacement": "<hidden>"},
                    "phone": "null",
                },
            }
        ]
    }
)


def vector_sql(dialect: str, data_hex: str) -> str:
    message = exp.Unhex(this=exp.Literal.string(data_hex))
    return exp.select(hmac_sha256(message)).from_(exp.to_table(KEY_ALIAS)).sql(dialect)


@pytest.mark.parametrize(("case", "key", "data", "digest"), VECTORS)
def test_duckdb_computes_the_rfc_4231_vectors(case: int, key: str, data: str, digest: str) -> None:
    con = duckdb.connect()
    inner, outer = MaskingKey("v", bytes.fromhex(key)).pads()
    con.execute(f"CREATE TABLE {KEY_ALIAS} ({INNER_PAD} BLOB, {OUTER_PAD} BLOB)")
    con.execute(f"INSERT INTO {KEY_ALIAS} VALUES ($1, $2)", [inner, outer])
    ((value,),) = con.execute(vector_sql("duckdb", data)).fetchall()
    assert value.startswith(digest), f"RFC 4231 test case {case}"


def test_spark_computes_the_rfc_4231_vectors(spark) -> None:
    for case, key, data, digest in VECTORS:
        frame = spark.createDataFrame(
            [MaskingKey("v", bytes.fromhex(key)).pads()], f"{INNER_PAD} binary, {OUTER_PAD} binary"
        )
        frame.createOrReplaceTempView(KEY_ALIAS)
        ((value,),) = spark.sql(vector_sql("spark", data)).collect()
        assert value.startswith(digest), f"RFC 4231 test case {case}"


def expected_hash(value: object) -> str | None:
    return None if value is None else hmac.new(KEY.secret, str(value).encode(), hashlib.sha256).hexdigest()


def test_one_masking_spec_gives_the_same_rows_on_both_engines(spark) -> None:
    plan = build_plan(LOGIC, {"people": COLUMNS}, "people")
    con = duckdb.connect()
    con.register("people_source", pa.Table.from_pylist(ROWS))
    _register_keys(con, {CONN_ID: KEY})
    local = con.execute(duckdb_backend.compile_plan(plan, {"people": "people_source"})).fetchall()

    frames = {"people": spark.createDataFrame(ROWS, ", ".join(f"{c.name} {c.type}" for c in COLUMNS))}
    frames |= _key_frames(spark, {CONN_ID: KEY})
    assert set(frames) == {"people", key_relation(CONN_ID)}
    on_spark = [tuple(row) for row in spark_backend.compile_plan(plan, frames).collect()]

    assert sorted(local, key=str) == sorted(on_spark, key=str)
    by_name = {row[0]: row for row in local}
    assert [by_name[expected_hash(r["id"])][1] for r in ROWS] == [expected_hash(r["email"]) for r in ROWS]
    assert [by_name[expected_hash(r["id"])][2:] for r in ROWS] == [
        ("************1111", "<hidden>", None),
        ("12", "<hidden>", None),
        ("", "<hidden>", None),
        (None, None, None),
        ("***cdef", "<hidden>", None),  # seven characters: the emoji counts as one
    ]


def test_the_spark_plan_text_holds_no_key_material(spark) -> None:
    plan = build_plan(LOGIC, {"people": COLUMNS}, "people")
    frames = {"people": spark.createDataFrame(ROWS, ", ".join(f"{c.name} {c.type}" for c in COLUMNS))}
    frame = spark_backend.compile_plan(plan, frames | _key_frames(spark, {CONN_ID: KEY}))
    explained = frame._jdf.queryExecution().toString().lower()
    assert "inner_pad" in explained
    for material in (KEY.secret.hex(), *(pad.hex() for pad in KEY.pads())):
        assert material not in explained
