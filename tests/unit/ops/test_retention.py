"""Retention durations, settings and the audit rule, without a database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from airflow_provider_enterprise.config import InvalidSettings, Settings, load_settings
from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
from airflow_provider_enterprise.ops.retention import (
    RegistryRetention,
    RetentionError,
    RetentionPolicy,
    parse_duration,
    valid_duty_cycle,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("1.5d", timedelta(hours=36)), (" 7d ", timedelta(7))],
)
def test_durations_in_days_or_hours(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["90", "0d", "-1d", "90m", "d", "1 d", "ninety days", ""])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected days or hours above zero"):
        parse_duration(text)


def test_defaults_purge_jobs_and_messages_after_90_days_resolved_letters_after_30_and_keep_audit_events() -> None:
    policy = RetentionPolicy.configured(load_settings({}, use_airflow=False))
    days = timedelta(days=1)
    assert policy == RetentionPolicy(90 * days, 30 * days, ("superseded", "discarded"), None, 90 * days)


def test_the_purge_pauses_by_the_configured_duty_cycle_unless_given_one(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__PURGE_DUTY_CYCLE", "0.5")
    hook = EnterpriseMetadataHook(settings=load_settings({}))  # connects only when used
    assert RegistryRetention(hook).duty_cycle == 0.5  # what the maintenance DAG's purge_registry uses
    assert RegistryRetention(hook, duty_cycle=1).duty_cycle == 1
    assert RegistryRetention(EnterpriseMetadataHook(settings=load_settings({}, use_airflow=False))).duty_cycle == 0.25


@pytest.mark.parametrize("value", [0, -0.5, 1.01, "0", "half", "nan", "inf", ""])
def test_duty_cycles_outside_zero_to_one_are_refused(value: float | str) -> None:
    with pytest.raises(ValueError, match=rf"invalid purge duty cycle {value!r}: expected the share of time"):
        valid_duty_cycle(value)
    with pytest.raises(ValueError, match="invalid purge duty cycle"):
        RegistryRetention(EnterpriseMetadataHook(settings=load_settings({}, use_airflow=False)), duty_cycle=value)


def test_settings_from_yaml_and_airflow_conf(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "enterprise.yaml"
    config.write_text(
        "retention: {jobs_days: 30, event_messages_days: 7}\ndead_letters: {purge_statuses: [discarded, open]}\n"
    )
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__AUDIT_RETENTION_DAYS", "400")
    monkeypatch.setenv("AIRFLOW__ENTERPRISE__DEAD_LETTER_RETENTION_DAYS", "7")
    settings = load_settings({"ENTERPRISE_CONFIG": str(config)})
    assert (settings.retention.jobs_days, settings.retention.audit_days) == (30, 400)
    assert settings.retention.event_messages_days == 7
    assert (settings.dead_letters.retention_days, settings.dead_letters.purge_statuses) == (7, ("discarded", "open"))


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("retention: {audit_days: 30}", "audit_days (30) cannot be shorter than jobs_days (90)"),
        ("retention: {jobs_days: 0}", "retention.jobs_days: Input should be greater than 0"),
        ("retention: {purge_duty_cycle: 0}", "retention.purge_duty_cycle: Input should be greater than 0"),
        ("retention: {purge_duty_cycle: 1.5}", "retention.purge_duty_cycle: Input should be less than or equal to 1"),
        ("dead_letters: {purge_statuses: [resolved]}", "dead_letters.purge_statuses.0: Input should be 'open'"),
    ],
)
def test_bad_retention_settings_name_the_key(tmp_path: Path, yaml: str, message: str) -> None:
    config = tmp_path / "enterprise.yaml"
    config.write_text(yaml)
    with pytest.raises(InvalidSettings, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)


def test_a_purge_keeping_jobs_longer_than_audit_events_is_refused() -> None:
    settings = Settings.model_validate({"retention": {"jobs_days": 90, "audit_days": 180}})
    assert RetentionPolicy.configured(settings, timedelta(days=180)).audit == timedelta(days=180)
    one_purge = RetentionPolicy.configured(settings, timedelta(hours=1))
    assert one_purge.dead_letters == one_purge.event_messages == timedelta(hours=1)
    with pytest.raises(RetentionError, match="jobs would be kept 200 days but audit events only 180 days"):
        RetentionPolicy.configured(settings, timedelta(days=200))
