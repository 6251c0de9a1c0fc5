"""Process environment of the test session; imported by conftest before anything imports Airflow."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_DAGS = REPO / "tests" / "dags"
EXAMPLE_DAGS = REPO / "dags"
#: DAGs only the stack tests run, beside the example DAGs in the stack's DAGs folder.
STACK_DAGS = REPO / "tests" / "stack" / "dags"
#: A Parquet file the local engine fails to read ("No magic bytes"): a permanent failure while the job runs.
CORRUPT_PARQUET = b"this is not a parquet file\n"
#: A CSV of 10 records: 3 good, 7 bad (every kind of bad row), and its schema.
MIXED = (
    b"id,amount,day,flag\n"
    b"1,10.5,2026-01-01,true\n"
    b"2,abc,2026-01-02,false\n"  # amount is not a double
    b"3,1.0\n"  # too few fields
    b"4,2.0,2026-01-04,true,extra\n"  # too many fields
    b"5,3.0,2026-02-30,true\n"  # not a calendar date
    b"6,4.0,2026-01-06,yes\n"  # not a boolean by our rules (DuckDB's own cast would accept it)
    b"7,5\xff\xfe,2026-01-07,true\n"  # not UTF-8
    b'8,"6,5",2026-01-08,FALSE\n'  # a quoted comma: one field, which is not a double
    b",,,\n"  # all empty: NULLs, a good row
    b"10,1e3,2026-01-10,True\n"
)
SCHEMA = {"id": "int", "amount": "double", "day": "date", "flag": "boolean"}


BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"


def parse_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines (the docker-compose env-file format, no interpolation)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def make_workdir() -> Path:
    """Return a short-pathed scratch directory for this session (unix socket paths are limited)."""
    base = os.environ.get("ENTERPRISE_TEST_TMP", "/tmp")
    return Path(tempfile.mkdtemp(prefix="ape-", dir=base))


def remove_workdir(path: Path) -> None:
    if not os.environ.get("ENTERPRISE_KEEP_TEST_DIR"):
        shutil.rmtree(path, ignore_errors=True)


def load_test_dags():
    """Import ``tests/dags/processing_dags.py`` (``dag.test()`` needs DAGs from files in the DAGs folder)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("processing_dags", TEST_DAGS / "processing_dags.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def airflow_on_examples(registry_url: str, output_dir: Path, *args: str, **env: str) -> str:
    """Run ``airflow *args`` over the example DAGs with a test registry and output; return its output."""
    import subprocess

    environment = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "DATABASE_URL": registry_url,
        "ENTERPRISE_OUTPUT_DIR": str(output_dir),
        **env,
    }
    done = subprocess.run([str(BIN / "airflow"), *args], env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout + done.stderr
