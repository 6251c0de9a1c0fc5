"""Airflow itself sees the provider."""

from __future__ import annotations

import json
import subprocess
from importlib import resources

import jsonschema
import pytest

from airflow_provider_enterprise import __version__, get_provider_info
from support.env import BIN

pytestmark = pytest.mark.integration


def test_provider_info_matches_airflows_schema() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_airflow_lists_the_provider_and_its_hook() -> None:
    providers = json.loads(
        subprocess.run(
            [str(BIN / "airflow"), "providers", "list", "--output", "json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    ours = [p for p in providers if p["package_name"] == "airflow-provider-enterprise"]
    assert ours and ours[0]["version"] == __version__

    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManagerTaskRuntime()
    assert "enterprise_metadata" in manager.hooks
    assert manager.hooks["enterprise_metadata"].hook_class_name.endswith("EnterpriseMetadataHook")


def test_config_section_is_registered() -> None:
    from airflow.configuration import conf

    from airflow_provider_enterprise.config import AIRFLOW_OPTIONS

    assert set(conf.configuration_description["enterprise"]["options"]) == set(AIRFLOW_OPTIONS)
    # no declared defaults: Airflow returns only what a user set, so the YAML file is not overridden
    assert conf.get("enterprise", "metadata_conn_id", fallback=None) is None
