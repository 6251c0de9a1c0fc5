"""
Tests for engines/object_inputs.py's listing against fsspec's in-memory filesystem: which objects an input reads.
Copying from a real S3 endpoint and reading the copies: tests/integration/storage/test_object_inputs.py.
"""

from __future__ import annotations

from collections.abc import Iterator

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
