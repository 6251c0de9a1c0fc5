"""
Tests for engines/object_inputs.py's listing against fsspec's in-memory filesystem: which objects an input reads.
Copying from a real S3 endpoint and reading the copies: tests/integration/storage/test_object_inputs.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_enterprise.engines.object_inputs import list_objects, require_objects
from airflow_provider_enterprise.exceptions import InputNotFoundError


@pytest.fixture
def store() -> Iterator[MemoryFileSystem]:
    fs = MemoryFileSystem()
    files = {
        "/lake/sales/day=1/part-0.csv": b"a\n1\n",
        "/lake/sales/day=2/part-0.csv": b"a\n22\n",
        "/lake/sales/_SUCCESS": b"",
        "/lake/sales/.staging/part-9.csv": b"a\n9\n",
        "/lake/sales/_bad_rows/part-0.csv": b"x\n",
        "/lake/one.csv": b"a\n333\n",
    }
    for path, data in files.items():
        fs.pipe(path, data)
    yield fs
    fs.rm("/lake", recursive=True)


def test_a_prefix_reads_its_data_objects_only(store: MemoryFileSystem) -> None:
    listing = list_objects(store, "memory://lake/sales/")
    assert listing.root == "/lake/sales"
    assert listing.sizes == {"day=1/part-0.csv": 4, "day=2/part-0.csv": 5}  # _ and . names skipped, at any depth
    assert not listing.single_object


def test_an_object_is_read_alone(store: MemoryFileSystem) -> None:
    listing = list_objects(store, "memory://lake/one.csv")
    assert (listing.root, listing.sizes, listing.single_object) == ("/lake", {"one.csv": 6}, True)


def test_a_glob_lists_below_its_fixed_part(store: MemoryFileSystem) -> None:
    listing = list_objects(store, "memory://lake/sales/day=*/*.csv")
    assert listing.root == "/lake/sales"
    assert list(listing.sizes) == ["day=1/part-0.csv", "day=2/part-0.csv"]


def test_an_input_without_objects_is_named(store: MemoryFileSystem) -> None:
    assert list_objects(store, "memory://lake/nothing").sizes == {}
    with pytest.raises(InputNotFoundError, match="input 'orders': 'memory://lake/nothing' does not exist or holds no"):
        require_objects(store, "orders", "memory://lake/nothing")
    with pytest.raises(InputNotFoundError, match=r"input 'orders': 'memory://lake/\*.parquet' matches no object"):
        require_objects(store, "orders", "memory://lake/*.parquet")
    store.pipe("/lake/empty/_SUCCESS", b"")  # a prefix holding no data object
    with pytest.raises(InputNotFoundError, match="holds no data object"):
        require_objects(store, "orders", "memory://lake/empty")


def test_a_run_lists_an_object_store_input_once(
    store: MemoryFileSystem, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider_enterprise.engines import object_inputs
    from airflow_provider_enterprise.engines.routing import input_sizes
    from airflow_provider_enterprise.spec import validate_job_spec

    listed = []

    def counted(fs: MemoryFileSystem, uri: str) -> object_inputs.ObjectListing:
        listed.append(uri)
        return list_objects(fs, uri.replace("s3://", "memory://"))

    monkeypatch.setattr(object_inputs, "list_objects", counted)
    spec = validate_job_spec(
        {"job_name": "j", "input_path": "s3://lake/sales/", "output_path": str(tmp_path / "out"), "input_format": "csv"}
    )
    assert input_sizes(spec, {"s3": store}) == {"input": 9}  # routing
    local, origins = object_inputs.download_inputs(spec, {"s3": store}, tmp_path / "copies")  # the local engine
    assert listed == ["s3://lake/sales/"]
    assert sorted(Path(p).read_bytes() for p in origins) == [b"a\n1\n", b"a\n22\n"]
    copy = spec.model_copy(update={"inputs": {"input": spec.inputs["input"].model_copy(update={"path": "s3://lake"})}})
    object_inputs.input_objects(store, copy.inputs["input"])  # another path lists its own objects
    assert listed == ["s3://lake/sales/", "s3://lake"]
