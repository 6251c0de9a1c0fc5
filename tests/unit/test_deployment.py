"""
The deployment artefacts, validated offline (no Docker engine and no helm binary here): docker-compose.yaml
against the compose-spec and our own rules, the Dockerfile's inputs, the Helm chart linted and rendered with
helm-python-sdk for several value sets and every manifest checked against Kubernetes' schemas, yamllint.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from support.env import BIN, REPO, parse_env_file

COMPOSE = REPO / "docker-compose.yaml"
COMPOSE_TLS = REPO / "docker-compose.tls.yaml"
CHART = REPO / "helm" / "airflow-provider-enterprise"
VALUE_SETS = {"default": None, **{p.stem: p for p in sorted((CHART / "ci").glob("*.yaml"))}}
KUBERNETES_VERSION = "1.33.0"
AIRFLOW_ENV = parse_env_file(REPO / "deploy" / "airflow.env")
#: What compose and the chart set differently from deploy/airflow.env: host names, URLs, secrets.
TOPOLOGY_KEYS = {
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__API__PORT",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__EXECUTOR",
    "ENVIRONMENT",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_follows_the_compose_spec() -> None:
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE), str(COMPOSE_TLS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tls_override_serves_https_to_every_airflow_service(compose) -> None:
    override = yaml.safe_load(COMPOSE_TLS.read_text())
    airflow = {name for name in compose["services"] if name.startswith("airflow-")}
    assert set(override["services"]) == airflow
    for name, service in override["services"].items():
        env = service["environment"]
        assert env["AIRFLOW__API__SSL_CERT"] == "/opt/airflow/tls/api-server.crt", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("https://airflow-api-server:"), name
        (mount,) = service["volumes"]
        assert (REPO / mount.split(":")[0]).is_dir(), name
    assert "https://localhost:28080" in override["services"]["airflow-api-server"]["healthcheck"]["test"][-1]


def test_compose_references_only_what_exists(compose) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for env_file in service.get("env_file", []):
            assert (REPO / env_file).is_file(), f"{name}: env file {env_file} is missing"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_compose_airflow_settings_come_from_the_shared_env_file(compose) -> None:
    airflow = {n: s for n, s in compose["services"].items() if n.startswith("airflow-")}
    assert set(airflow) == {
        "airflow-init",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    }
    for name, service in airflow.items():
        assert service["env_file"] == ["deploy/airflow.env"], name
        overridden = set(service["environment"]) & set(AIRFLOW_ENV)
        assert overridden <= TOPOLOGY_KEYS, f"{name} overrides {overridden - TOPOLOGY_KEYS}: change deploy/airflow.env"


def test_compose_takes_every_secret_from_the_env_file(compose) -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = parse_env_file(REPO / ".env.example")
    assert required <= set(example), f"not in .env.example: {required - set(example)}"
    assert {"POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD"} <= required
    assert not any(example[name] for name in required), ".env.example must not ship a secret"
    for service in compose["services"].values():
        environment = service.get("environment", {})
        for key, value in environment.items() if isinstance(environment, dict) else []:
            if re.search("PASSWORD|SECRET", key) and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{key} is written into docker-compose.yaml"


def test_dockerfile_copies_what_exists_and_installs_from_the_lock() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.MULTILINE):
        for source in line.split()[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    assert "--constraint requirements/lock.txt --override requirements/overrides.txt" in dockerfile
    assert re.search(r"^USER ", dockerfile, flags=re.MULTILINE), "the image must not run as root"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def values_of(path: Path | None) -> dict:
    return yaml.safe_load(path.read_text()) if path else {}


def rendered(value_set: str) -> list[dict]:
    import helm_python as helm

    manifests = helm.Chart.load(CHART).render(values_of(VALUE_SETS[value_set]), name="enterprise", namespace="data")
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_chart_lints_clean(value_set: str) -> None:
    import helm_python as helm

    report = helm.lint(CHART, values_of(VALUE_SETS[value_set]), strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], problems or report["errors"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_manifest_is_valid_kubernetes(value_set: str) -> None:
    import kubernetes_validate

    docs = rendered(value_set)
    assert len(docs) >= 5
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_container_has_resources_and_a_liveness_probe(value_set: str) -> None:
    for doc in rendered(value_set):
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{doc['metadata']['name']}/{container['name']}"
            assert {"requests", "limits"} <= set(container.get("resources", {})), where
        if doc["kind"] != "Job":
            for container in pod["containers"]:
                assert "livenessProbe" in container, doc["metadata"]["name"]


def test_secrets_come_from_the_named_secret_and_none_is_rendered_by_default() -> None:
    docs = rendered("default")
    assert not [d for d in docs if d["kind"] == "Secret"]
    scheduler = next(d for d in docs if d["metadata"]["name"].endswith("-scheduler"))
    env = {e["name"]: e for e in scheduler["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "DATABASE_URL", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "airflow-provider-enterprise", name
    assert env["SPARK_MASTER_URL"]["value"] == "spark://enterprise-airflow-provider-enterprise-spark-master:7077"
    assert env["AIRFLOW__METRICS__STATSD_HOST"]["value"] == "enterprise-airflow-provider-enterprise-statsd-exporter"


def test_spark_on_kubernetes_gets_a_service_account_allowed_to_make_pods() -> None:
    docs = rendered("spark-on-kubernetes")
    role = next(d for d in docs if d["kind"] == "Role")
    assert role["metadata"]["namespace"] == "spark-jobs" and "pods" in role["rules"][0]["resources"]
    scheduler = next(d for d in docs if d["metadata"]["name"].endswith("-scheduler"))
    assert scheduler["spec"]["template"]["spec"]["serviceAccountName"] == "spark-submitter"
    assert not [d for d in docs if "spark-master" in d["metadata"]["name"]]
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    assert set(secret["stringData"]) == {"sql-alchemy-conn", "registry-url", "jwt-secret", "admin-password"}


def test_api_server_tls_serves_https_and_every_airflow_pod_trusts_the_certificate() -> None:
    airflow = ("-api-server", "-scheduler", "-dag-processor", "-triggerer")
    docs = rendered("api-server-tls")
    deployments = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith(airflow)]
    assert len(deployments) == 4  # api-server, scheduler, dag-processor, triggerer
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["AIRFLOW__API__SSL_CERT"] == "/opt/airflow/tls/tls.crt"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("https://")
        assert {"name": "tls", "secret": {"secretName": "enterprise-api-server-tls"}} in pod["volumes"]
        assert {"name": "tls", "mountPath": "/opt/airflow/tls", "readOnly": True} in container["volumeMounts"]
    api = next(d for d in deployments if d["metadata"]["name"].endswith("-api-server"))
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert (
        container["readinessProbe"]["httpGet"]["scheme"] == container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    )
    plain = next(d for d in rendered("default") if d["metadata"]["name"].endswith("-api-server"))
    assert plain["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTP"


def test_a_chart_made_secret_without_its_values_is_refused_by_name() -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmRenderError, match=r"secrets.values.\w+ is required when secrets.create is true"):
        helm.Chart.load(CHART).render({"secrets": {"create": True}}, name="enterprise", namespace="data")


def test_the_charts_files_and_settings_are_the_repositorys() -> None:
    pairs = [
        (CHART / "files" / "statsd-mapping.yml", REPO / "deploy" / "statsd-mapping.yml"),
        (CHART / "files" / "init-databases.sh", REPO / "deploy" / "postgres" / "init-databases.sh"),
    ] + [(CHART / "files" / "dashboards" / p.name, p) for p in (REPO / "deploy" / "grafana" / "dashboards").glob("*")]
    for copy, source in pairs:
        assert copy.read_text() == source.read_text(), f"{copy} differs from {source}: copy it again"
    assert len(list((CHART / "files" / "dashboards").glob("*.json"))) == len(pairs) - 2
    config = values_of(CHART / "values.yaml")["airflow"]["config"]
    shared = {k: v for k, v in AIRFLOW_ENV.items() if k.startswith("AIRFLOW__") and k not in TOPOLOGY_KEYS}
    assert config == shared, "helm values airflow.config and deploy/airflow.env differ"
    assert values_of(CHART / "values.yaml")["airflow"]["executor"] == AIRFLOW_ENV["AIRFLOW__CORE__EXECUTOR"]


def test_yaml_files_pass_yamllint() -> None:
    done = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-c", str(REPO / ".yamllint.yaml"), COMPOSE.name, "deploy", "helm"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
