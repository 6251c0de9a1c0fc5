"""The provisioned Grafana dashboards: built by their script, and every query uses a name our mapping produces."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml

from airflow_provider_enterprise import metrics
from support.env import REPO
from support.statsd import MAPPING

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
#: A histogram (a StatsD timer) is queried through these series.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
METRIC_NAME = re.compile(r"\b((?:orchestrator|spark|airflow)_[a-z0-9_]+)\b")


def builder():
    spec = importlib.util.spec_from_file_location("build_dashboards", REPO / "scripts" / "build_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mapped_names() -> set[str]:
    names = {m["name"] for m in yaml.safe_load(MAPPING.read_text())["mappings"]}
    timers = {m.prometheus for m in metrics.ALL if m.kind == "timer"} | {"airflow_dag_run_duration"}
    return (names | {t + s for t in timers for s in HISTOGRAM_SUFFIXES}) - timers  # histograms: suffixed only


def queries() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found += [(path.name, panel["title"], target["expr"]) for target in panel["targets"]]
    return found


def test_committed_dashboards_are_the_builders_output() -> None:
    build = builder()
    assert sorted(p.stem for p in DASHBOARDS.glob("*.json")) == sorted(build.DASHBOARDS)
    for uid in build.DASHBOARDS:
        assert (DASHBOARDS / f"{uid}.json").read_text() == build.render(uid), f"{uid}: run scripts/build_dashboards.py"


@pytest.mark.parametrize(("dashboard", "panel", "expr"), queries(), ids=lambda v: str(v)[:60])
def test_every_query_uses_names_our_mapping_produces(dashboard, panel, expr) -> None:
    used = set(METRIC_NAME.findall(expr))
    assert used, f"{dashboard} / {panel}: no metric in {expr!r}"
    unknown = used - mapped_names()
    assert not unknown, f"{dashboard} / {panel} queries {sorted(unknown)}, which the mapping does not produce"


def test_the_check_refuses_names_the_mapping_does_not_produce() -> None:
    known = mapped_names()
    assert "orchestrator_jobs_total" in known and "orchestrator_jobs_duration_seconds_bucket" in known
    assert "orchestrator_jobs_duration_seconds" not in known  # a histogram has no bare series
    assert not set(METRIC_NAME.findall("rate(orchestrator_jobz_total[5m])")) <= known


def test_every_provider_metric_is_on_a_dashboard() -> None:
    used = {name for _, _, expr in queries() for name in METRIC_NAME.findall(expr)}
    for metric in metrics.ALL:
        series = {metric.prometheus} | {metric.prometheus + s for s in HISTOGRAM_SUFFIXES}
        assert used & series, f"{metric.prometheus} is on no dashboard"


def test_grafana_and_prometheus_provisioning_fit_together() -> None:
    datasource = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (prometheus,) = datasource["datasources"]
    uids = {
        t["datasource"]["uid"]
        for path in DASHBOARDS.glob("*.json")
        for p in json.loads(path.read_text())["panels"]
        for t in p["targets"]
    }
    assert uids == {prometheus["uid"]}
    scrape = yaml.safe_load((REPO / "deploy/prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert "statsd-exporter:9102" in targets
