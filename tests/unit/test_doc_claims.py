"""Claims the docs make about the deployment files, checked against the files."""

from __future__ import annotations

import re

import yaml

from support.env import REPO


def published_ports() -> set[int]:
    """The host ports docker-compose.yaml publishes, over every service and profile."""
    services = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]
    ports = set()
    for service in services.values():
        for mapping in service.get("ports", []):
            host = str(mapping).split(":")[0]
            ports.add(int(host.split("/")[0]))
    return ports


def documented_ports() -> dict[int, bool]:
    """The ports of docs/security.md's exposure table and whether it says compose publishes them."""
    text = (REPO / "docs" / "security.md").read_text()
    table = text[text.index("## Network exposure") :].split("\n\n")[0]
    documented = {}
    for row in table.splitlines()[3:]:
        ports, _service, published, _expose = (cell.strip() for cell in row.strip("|").split("|"))
        for port in re.findall(r"\d+", ports):
            documented[int(port)] = published == "yes"
    return documented


def test_the_security_guide_lists_exactly_the_ports_compose_publishes() -> None:
    documented = documented_ports()
    assert {port for port, published in documented.items() if published} == published_ports()
    assert {5432, 6379, 9125} <= set(documented), "the unpublished service ports are listed too"


def test_the_chart_exposes_no_service_outside_the_cluster_by_default() -> None:
    values = yaml.safe_load((REPO / "helm" / "airflow-provider-enterprise" / "values.yaml").read_text())
    types = re.findall(r"'type': '(\w+)'", str(values))
    assert types and set(types) == {"ClusterIP"}


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (lowercased, punctuation dropped, spaces as -)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if not count else f"{slug}-{count}")
    return found


def test_every_relative_link_of_the_docs_reaches_a_file_and_heading() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text()
        prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked offline
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


#: Error classes the docs name that come from elsewhere: the library that raises each.
FOREIGN_ERRORS = {
    "InvalidInputException": "duckdb",
    "ConversionException": "duckdb",
    "EndpointConnectionError": "botocore.exceptions",
}


def test_every_error_the_docs_name_exists() -> None:
    """An error class named in backticks (`...Error`, `...Refused`) is the provider's, a builtin, or a library's."""
    import builtins
    import importlib

    from airflow_provider_enterprise import exceptions
    from airflow_provider_enterprise.resilience import circuit_breaker, dead_letter

    ours = {
        name
        for module in (exceptions, circuit_breaker, dead_letter)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    named = {
        name
        for page in pages
        for name in re.findall(r"`([A-Z][A-Za-z]*(?:Error|Refused|NotConfigured|Exception))`", page.read_text())
    }
    assert named, "the docs name errors"
    unknown = [
        name
        for name in sorted(named)
        if name not in ours
        and not isinstance(getattr(builtins, name, None), type)
        and not hasattr(importlib.import_module(FOREIGN_ERRORS.get(name, "builtins")), name)
    ]
    assert not unknown, f"the docs name errors nothing raises: {unknown}"


def settings_keys(model: type, prefix: str = "") -> set[str]:
    """The dotted keys of a settings model, sections walked (a mapping of sections is ``<name>``)."""
    from pydantic import BaseModel

    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= settings_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_the_configuration_guide_lists_every_setting_and_no_other() -> None:
    from airflow_provider_enterprise.config import Settings

    text = (REPO / "docs" / "configuration.md").read_text()
    table = text[text.index("## Keys") :].split("\n\n")[1]
    documented = set()
    for row in table.splitlines()[2:]:
        keys = re.findall(r"`([a-z_.<>*]+)`", row.split("|")[1])  # `airflow_api.username` / `.password`
        documented |= {key if not key.startswith(".") else keys[0].rsplit(".", 1)[0] + key for key in keys}
    model = settings_keys(Settings)
    # sections documented as a whole: the cost model's knobs, the named retry policies
    wildcards = {key.removesuffix(".*") for key in documented if key.endswith(".*")}
    wildcards |= {key.split(".<")[0] for key in documented if ".<" in key}
    undocumented = {k for k in model if k not in documented and not any(k.startswith(f"{w}") for w in wildcards)}
    unknown = {k for k in documented if k not in model and not k.endswith(".*") and ".<" not in k}
    assert not undocumented, f"settings missing from docs/configuration.md: {sorted(undocumented)}"
    assert not unknown, f"docs/configuration.md lists settings that do not exist: {sorted(unknown)}"


def test_the_jobs_guide_lists_every_submission_field_with_its_default() -> None:
    from airflow_provider_enterprise.spec.submission import submission_defaults

    text = (REPO / "docs" / "jobs.md").read_text()
    table = text[text.index("## The spec") :].split("\n\n")[1]
    documented: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        names, default = (cell.strip() for cell in row.strip("|").split("|")[:2])
        for name in re.findall(r"`(\w+)`", names):
            documented[name] = default
    defaults = submission_defaults()
    assert set(documented) == set(defaults)
    for name, shown in documented.items():
        if shown.startswith("`"):  # a default written as a value
            assert shown.strip("`") == str(defaults[name]), name


def test_the_job_spec_guide_lists_every_job_field() -> None:
    from airflow_provider_enterprise.spec.models import job_fields

    text = (REPO / "docs" / "job-spec.md").read_text()
    table = text[text.index("| field | meaning |") :].split("\n\n")[0]
    documented = {name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == set(job_fields())
