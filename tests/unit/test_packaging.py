"""The wheel as pip installs it: built in-process by the project's build backend (hatchling), then read back."""

from __future__ import annotations

import email
import zipfile
from pathlib import Path

import pytest

from airflow_provider_enterprise import __version__

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    from hatchling.builders.wheel import WheelBuilder

    (built,) = WheelBuilder(str(REPO)).build(directory=str(tmp_path_factory.mktemp("dist")), versions=["standard"])
    with zipfile.ZipFile(built) as archive:
        yield archive


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    return wheel.read(f"airflow_provider_enterprise-{__version__}.dist-info/{name}").decode()


def test_the_wheel_ships_the_license_it_declares(wheel: zipfile.ZipFile) -> None:
    metadata = email.message_from_string(dist_info(wheel, "METADATA"))
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    license_text = dist_info(wheel, "licenses/LICENSE")
    assert license_text == (REPO / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text


def test_the_wheel_registers_the_provider_plugin_and_policy(wheel: zipfile.ZipFile) -> None:
    entry_points = dist_info(wheel, "entry_points.txt")
    for line in (
        "[apache_airflow_provider]\nprovider_info = airflow_provider_enterprise:get_provider_info",
        "[airflow.plugins]\nenterprise = airflow_provider_enterprise.plugin:EnterprisePlugin",
        "[airflow.policy]\nenterprise = airflow_provider_enterprise.ops.policies",
        "[console_scripts]\nenterprise-orchestrator = airflow_provider_enterprise.cli:main",
    ):
        assert line in entry_points


def test_the_wheel_holds_the_files_the_code_reads_at_run_time_and_no_tests(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    package = REPO / "src" / "airflow_provider_enterprise"
    needed = [p for p in package.rglob("*") if p.is_file() and p.suffix in {".sql", ".properties", ".js", ".html"}]
    assert len(needed) >= 6
    for path in needed:
        assert f"airflow_provider_enterprise/{path.relative_to(package)}" in names
    assert not any(name.startswith(("tests/", "bench/", "dags/")) for name in names)
