"""
Airflow assets of jobs: a job's output is an outlet and its inputs are inlets, with URIs derived from their paths,
and a committed output's asset event carries the job's figures.

Asset URIs are static (a DAG scheduled on an asset names it when the DAG file is parsed), so a templated path
stands for the directory before its first template: ``/data/processed/{{ ds }}`` is the asset
``file:///data/processed``, and each run's event names the rendered location in its extra (``output_path``).
A glob stands for its fixed directory. A path that begins with a template (or is resolved at run time, an
XComArg) gets no automatic asset: declare ``outlets``/``inlets`` yourself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_enterprise.spec.locations import SCHEMES

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context

    from airflow_provider_enterprise.engines.base import JobResult
    from airflow_provider_enterprise.spec import JobSpec

log = logging.getLogger(__name__)

#: The asset alias the generic job DAG's task emits its outputs' events through (they are known only at run time).
SUBMITTED_OUTPUTS_ALIAS = "enterprise-submitted-job-outputs"

_TEMPLATE_MARKERS = ("{{", "{%", "{#")


def _static_part(path: str) -> str:
    """``path`` cut at the ``/`` before its first template (whole when it holds none)."""
    first = min((i for i in (path.find(m) for m in _TEMPLATE_MARKERS) if i >= 0), default=-1)
    return path if first < 0 else path[: path.rfind("/", 0, first) + 1]


def asset_uri(path: str) -> str | None:
    """
    The asset URI of a job's location: ``file://`` and the absolute path for a local path, the URI itself for an
    object store's (``s3a`` as ``s3``, ``gcs`` as ``gs``); a templated path's static directory; None when no
    static directory is left.
    """
    from airflow_provider_enterprise.lineage import dataset_root

    static = _static_part(path)
    if not static.strip("/") or static.endswith("://"):
        return None
    root = dataset_root(static)
    if "://" not in root:
        return "file://" + os.path.abspath(os.path.expanduser(root))
    uri = urlsplit(root)
    if not uri.netloc and SCHEMES.get(uri.scheme.lower()) != "":
        return None
    scheme = {"s3a": "s3", "gcs": "gs"}.get(uri.scheme.lower(), uri.scheme.lower())
    return uri._replace(scheme=scheme).geturl()


def _assets(paths: Iterable[Any]) -> list[Asset]:
    from airflow.sdk import Asset

    assets = []
    for uri in {uri: None for path in paths if isinstance(path, str) and (uri := asset_uri(path))}:
        try:
            assets.append(Asset(uri))
        except ValueError as err:  # a URI Airflow refuses (non-ASCII): no automatic asset, the job still runs
            log.warning("No asset for %s: %s; declare outlets/inlets to name it", uri, err)
    return assets


def input_paths(input_path: Any, inputs: Mapping[str, Any] | None) -> list[Any]:
    """The paths an operator's ``input_path`` and ``inputs`` name (values resolved at run time kept as they are)."""
    named = [v.get("path") if isinstance(v, Mapping) else v for v in (inputs or {}).values()]
    return [input_path, *named] if input_path is not None else named


def with_job_assets(kwargs: dict[str, Any], *, inputs: Iterable[Any], output: Any) -> dict[str, Any]:
    """
    The operator's keyword arguments with the job's assets as ``inlets`` and ``outlets``, unless they are given
    (an explicit list, even an empty one, replaces the automatic assets).
    """
    kwargs.setdefault("inlets", _assets(inputs))
    kwargs.setdefault("outlets", _assets([output]))
    return kwargs


def manifest_location(output_path: str) -> str:
    """
    Where the committed output's manifest is: ``_manifest.json`` (either engine's commit), else the ``_SUCCESS``
    marker naming the published files (a local directory the local engine committed before it wrote manifests).
    """
    from airflow_provider_enterprise.output.commit import MANIFEST, SUCCESS_MARKER

    base = output_path.rstrip("/")
    if "://" not in base and not os.path.exists(f"{base}/{MANIFEST}"):
        return f"{base}/{SUCCESS_MARKER}"
    return f"{base}/{MANIFEST}"


def event_extra(spec: JobSpec, result: JobResult, job_id: int) -> dict[str, Any]:
    """
    The extra of a committed output's asset event: where it is, its rows and bad rows, its manifest's location
    (:func:`manifest_location`) and
    the data-quality checks' summary (``{"passed": n, "warned": n, ...}`` by outcome, with the failed checks'
    names), when the job has checks.
    """
    from airflow_provider_enterprise.lineage import check_results

    extra: dict[str, Any] = {
        "job_id": job_id,
        "output_path": spec.output_path,
        "rows_out": result.rows_out,
        "bad_rows": result.bad_rows,
        "manifest": manifest_location(spec.output_path),
    }
    if checks := check_results(result):
        summary: dict[str, Any] = {}
        for check in checks:
            summary[check["outcome"]] = summary.get(check["outcome"], 0) + 1
        summary["not_passed"] = [c["name"] for c in checks if c["outcome"] != "passed"]
        extra["checks"] = summary
    return extra


def record_output_event(
    context: Context, outlets: Iterable[Any], spec: JobSpec, result: JobResult, job_id: int
) -> None:
    """
    Put the job's figures (:func:`event_extra`) on the asset event Airflow emits, when the task succeeds, for the
    outlet that holds the rendered output (its URI, or the static directory of a templated path); through an
    asset alias among ``outlets`` (the generic job DAG's), add the output's own asset event.
    """
    from airflow.sdk import Asset, AssetAlias

    uri = asset_uri(spec.output_path)
    if uri is None:
        return
    extra = event_extra(spec, result, job_id)
    for outlet in outlets:
        if isinstance(outlet, Asset) and (uri == outlet.uri or uri.startswith(outlet.uri.rstrip("/") + "/")):
            context["outlet_events"][outlet].extra.update(extra)
        elif isinstance(outlet, AssetAlias):
            context["outlet_events"][outlet].add(Asset(uri), extra=extra)
