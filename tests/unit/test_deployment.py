"""
The deployment artefacts, validated offline (no Docker engine and no helm binary here): docker-compose.yaml
against the compose-spec and our own rules, the Dockerfile's inputs, the Helm chart linted and rendered with
helm-python-sdk for several value sets and every manifest checked against Kubernetes' schemas, yamllint.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from support.env import BIN, REPO, parse_env_file

COMPOSE = REPO / "docker-compose.yaml"
COMPOSE_TLS = REPO / "docker-compose.tls.yaml"
CHART = REPO / "helm" / "airflow-provider-enterprise"
VALUE_SETS = {"default": None, **{p.stem: p for p in sorted((CHART / "ci").glob("*.yaml"))}}
KUBERNETES_VERSION = "1.33.0"
AIRFLOW_ENV = parse_env_file(REPO / "deploy" / "airflow.env")
#: What compose and the chart set differently from deploy/airflow.env: host names, URLs, secrets, the executor.
TOPOLOGY_KEYS = {
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__API__PORT",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CORE__PARALLELISM",
    "ENVIRONMENT",
}
#: The compose services with Airflow's settings (x-airflow-common): the components and the one-shot jobs.
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-worker",
    "airflow-dag-processor",
    "airflow-triggerer",
    "enterprise-pools",
}
#: The provider's per-engine queue and pool settings, set for the CeleryExecutor.
PLACEMENT = re.compile(r"AIRFLOW__ENTERPRISE__(LOCAL|SPARK)_(QUEUE|POOL)")
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"


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
    assert set(override["services"]) == set(airflow_services(compose))
    for name, service in override["services"].items():
        env = service["environment"]
        assert env["AIRFLOW__API__SSL_CERT"] == "/opt/airflow/tls/api-server.crt", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("https://airflow-api-server:"), name
        (mount,) = service["volumes"]
        assert (REPO / mount.split(":")[0]).is_dir(), name
    assert "https://localhost:28080" in override["services"]["airflow-api-server"]["healthcheck"]["test"][-1]
    pools = override["services"]["enterprise-pools"]["environment"]
    assert pools["SSL_CERT_FILE"] == pools["AIRFLOW__API__SSL_CERT"], "the pools CLI must trust the api-server"


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


def airflow_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if n.startswith(("airflow-", "enterprise-"))}


def test_compose_airflow_settings_come_from_the_shared_env_file(compose) -> None:
    airflow = airflow_services(compose)
    assert set(airflow) == AIRFLOW_SERVICES
    for name, service in airflow.items():
        assert service["env_file"] == ["deploy/airflow.env"], name
        overridden = set(service["environment"]) & set(AIRFLOW_ENV)
        assert overridden <= TOPOLOGY_KEYS, f"{name} overrides {overridden - TOPOLOGY_KEYS}: change deploy/airflow.env"


def test_compose_takes_every_secret_from_the_env_file(compose) -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = parse_env_file(REPO / ".env.example")
    assert required <= set(example), f"not in .env.example: {required - set(example)}"
    assert {"POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"} <= required
    assert not any(example[name] for name in required), ".env.example must not ship a secret"
    for service in compose["services"].values():
        environment = service.get("environment", {})
        for key, value in environment.items() if isinstance(environment, dict) else []:
            if re.search("PASSWORD|SECRET", key) and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{key} is written into docker-compose.yaml"


def test_compose_runs_tasks_on_scalable_celery_workers_with_redis_and_the_airflow_database(compose) -> None:
    services = compose["services"]
    airflow = airflow_services(compose)
    executors = {name: s["environment"]["AIRFLOW__CORE__EXECUTOR"] for name, s in airflow.items()}
    assert set(executors.values()) == {"CeleryExecutor"}, executors
    env = services["airflow-worker"]["environment"]
    # the broker: REDIS_URL, by default the redis service, which is healthy before any Airflow component starts
    default = re.fullmatch(r"\$\{REDIS_URL:-(.+)\}", env["AIRFLOW__CELERY__BROKER_URL"])
    assert default, env["AIRFLOW__CELERY__BROKER_URL"]
    broker = urlsplit(default[1])
    assert broker.scheme == "redis" and broker.port == 6379
    redis = services[broker.hostname]
    assert redis["image"].startswith("redis:7.") and redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert re.search(r"^#? ?REDIS_URL=", (REPO / ".env.example").read_text(), flags=re.MULTILINE)
    for name in AIRFLOW_SERVICES - {"airflow-init", "enterprise-pools"}:
        assert services[name]["depends_on"][broker.hostname] == {"condition": "service_healthy"}, name
    # the result backend: Airflow's metadata database, with its credentials
    backend, database = env["AIRFLOW__CELERY__RESULT_BACKEND"], env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert backend.startswith("db+postgresql://")
    assert backend.partition("://")[2] == database.partition("://")[2]
    # scalable: no fixed name or host port; a Celery health check; time for running tasks on stop
    worker = services["airflow-worker"]
    assert not {"container_name", "hostname", "ports"} & set(worker), "docker compose --scale needs neither"
    assert f"--app {CELERY_APP} inspect ping" in worker["healthcheck"]["test"][1]
    assert re.fullmatch(r"\d+m", worker["stop_grace_period"])
    assert worker["deploy"]["resources"]["limits"]["memory"]
    # the worker consumes Airflow's default queue and every engine's queue the environment names
    (script,) = worker["command"]
    words = shlex.split(re.sub(r"\$\$\{(\w+)\}", lambda m: env[m[1]], script))
    celery = words[words.index("exec") + 1 :]
    assert celery[:3] == ["airflow", "celery", "worker"]
    queues = set(celery[celery.index("--queues") + 1].split(","))
    concurrency = re.fullmatch(r"\$\{AIRFLOW_WORKER_CONCURRENCY:-(\d+)\}", celery[celery.index("--concurrency") + 1])
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) >= 3 * int(concurrency[1]), "--scale airflow-worker=3 would wait"
    engine_queues = {value for key, value in env.items() if PLACEMENT.fullmatch(key) and key.endswith("_QUEUE")}
    assert len(engine_queues) == 2 and engine_queues | {"default"} <= queues, queues


def test_compose_makes_the_engines_pools_once_the_api_server_is_healthy(compose) -> None:
    from airflow_provider_enterprise.cli import build_parser

    pools = compose["services"]["enterprise-pools"]
    assert pools["depends_on"] == {"airflow-api-server": {"condition": "service_healthy"}}
    assert pools["restart"] == "no"
    args = build_parser().parse_args(pools["command"])
    assert (args.command, args.pools_command) == ("pools", "create")
    env = pools["environment"]
    users = dict(u.split(":") for u in AIRFLOW_ENV["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","))
    assert users[env["AIRFLOW_API_USERNAME"]] == "admin", "pools need the admin role"
    assert env["AIRFLOW_API_PASSWORD"] == compose["services"]["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"]
    assert env["AIRFLOW_API_URL"].startswith("http://airflow-api-server:")
    assert {k for k in env if PLACEMENT.fullmatch(k)} == {
        f"AIRFLOW__ENTERPRISE__{engine}_{kind}" for engine in ("LOCAL", "SPARK") for kind in ("QUEUE", "POOL")
    }


def test_dockerfile_copies_what_exists_and_installs_from_the_lock() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.MULTILINE):
        for source in line.split()[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    assert "--constraint requirements/lock.txt --override requirements/overrides.txt" in dockerfile
    (extras,) = re.findall(r'"\.\[([\w,]+)\]"', dockerfile)
    assert {"spark", "kubernetes", "celery"} <= set(extras.split(",")), "the executors' providers must be in the image"
    assert re.search(r"^USER ", dockerfile, flags=re.MULTILINE), "the image must not run as root"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def values_of(path: Path | None) -> dict:
    return yaml.safe_load(path.read_text()) if path else {}


def render(values: dict) -> list[dict]:
    import helm_python as helm

    manifests = helm.Chart.load(CHART).render(values, name="enterprise", namespace="data")
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def rendered(value_set: str) -> list[dict]:
    return render(values_of(VALUE_SETS[value_set]))


def named(docs: list[dict], kind: str, suffix: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    return doc


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def airflow_containers(docs: list[dict]) -> list[dict]:
    """Every container on Airflow's database: the components, the workers, the Jobs and their init containers."""
    pods = [d["spec"]["template"]["spec"] for d in docs if "template" in d.get("spec", {})]
    return [
        c
        for pod in pods
        for c in pod.get("initContainers", []) + pod["containers"]
        if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in [e["name"] for e in c.get("env", [])]
    ]


def executors(docs: list[dict]) -> set[str]:
    return {env_of(c)["AIRFLOW__CORE__EXECUTOR"]["value"] for c in airflow_containers(docs)}


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
    secrets = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "DATABASE_URL", "AIRFLOW__API_AUTH__JWT_SECRET")
    for name in (*secrets, "AIRFLOW__CORE__FERNET_KEY"):
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
    assert set(secret["stringData"]) == {
        "sql-alchemy-conn",
        "registry-url",
        "jwt-secret",
        "fernet-key",
        "admin-password",
    }


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
    ] + [(CHART / "files" / "dashboards" / p.name, p) for p in (REPO / "deploy" / "grafana" / "dashboards").glob("*")]
    for copy, source in pairs:
        assert copy.read_text() == source.read_text(), f"{copy} differs from {source}: copy it again"
    assert len(list((CHART / "files" / "dashboards").glob("*.json"))) == len(pairs) - 1
    config = values_of(CHART / "values.yaml")["airflow"]["config"]
    shared = {k: v for k, v in AIRFLOW_ENV.items() if k.startswith("AIRFLOW__") and k not in TOPOLOGY_KEYS}
    assert config == shared, "helm values airflow.config and deploy/airflow.env differ"
    compose = yaml.safe_load(COMPOSE.read_text())
    executor = compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"]
    assert values_of(CHART / "values.yaml")["airflow"]["executor"] == executor, "compose and the chart differ"


def test_celery_workers_scale_consume_every_engine_queue_and_use_the_bundled_redis() -> None:
    docs = rendered("celery-workers")
    values = values_of(VALUE_SETS["celery-workers"])["airflow"]["workers"]
    assert executors(docs) == {"CeleryExecutor"}
    worker = named(docs, "StatefulSet", "-worker")
    assert worker["spec"]["replicas"] == values["replicas"] == 3
    pod = worker["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == values["terminationGracePeriodSeconds"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["celery", "worker"] and args[args.index("--concurrency") + 1] == str(values["concurrency"])
    env = env_of(container)
    assert env["AIRFLOW__CORE__PARALLELISM"]["value"] == str(values["replicas"] * values["concurrency"])
    engine_queues = {e["value"] for name, e in env.items() if PLACEMENT.fullmatch(name) and name.endswith("_QUEUE")}
    assert len(engine_queues) == 2
    assert set(args[args.index("--queues") + 1].split(",")) == set(values["queues"]) | engine_queues
    assert f"--app {CELERY_APP} inspect ping" in container["livenessProbe"]["exec"]["command"][-1]
    # each worker's host name resolves through the headless Service (the api-server reads task logs there)
    headless = named(docs, "Service", "-worker")
    assert worker["spec"]["serviceName"] == headless["metadata"]["name"] and headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"].items() <= worker["spec"]["template"]["metadata"]["labels"].items()
    # the broker is REDIS_URL, the in-chart Redis Service; results go to Airflow's database. Kubernetes expands
    # $(VAR) only from variables listed before it.
    order = list(env)
    assert env["AIRFLOW__CELERY__BROKER_URL"]["value"] == "$(REDIS_URL)"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"]["value"] == "db+$(AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)"
    assert order.index("REDIS_URL") < order.index("AIRFLOW__CELERY__BROKER_URL")
    assert order.index("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") < order.index("AIRFLOW__CELERY__RESULT_BACKEND")
    broker = urlsplit(env["REDIS_URL"]["value"])
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == broker.hostname)
    assert broker.scheme == "redis" and broker.port in [p["port"] for p in service["spec"]["ports"]]
    redis = named(docs, "Deployment", "-redis")
    assert service["spec"]["selector"].items() <= redis["spec"]["template"]["metadata"]["labels"].items()


def test_the_pools_hook_makes_a_local_slot_per_worker_slot_as_the_admin_over_tls() -> None:
    from airflow_provider_enterprise.cli import build_parser

    docs = rendered("celery-workers")
    workers = values_of(VALUE_SETS["celery-workers"])["airflow"]["workers"]
    job = named(docs, "Job", "-pools")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    wait, create = container["command"][-1].split("; exec ")
    assert "--cacert /opt/airflow/tls/tls.crt" in wait and "/api/v2/monitor/health" in wait
    args = build_parser().parse_args(shlex.split(create)[1:])
    assert (args.pools_command, args.local_slots) == ("create", workers["replicas"] * workers["concurrency"])
    env = env_of(container)
    assert env["AIRFLOW_API_USERNAME"]["value"] == "admin"
    assert env["AIRFLOW_API_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "admin-password"
    assert env["SSL_CERT_FILE"]["value"] == env["AIRFLOW__API__SSL_CERT"]["value"]
    assert {"name": "tls", "mountPath": "/opt/airflow/tls", "readOnly": True} in container["volumeMounts"]


def test_the_kubernetes_executor_gets_a_pod_template_and_rbac_and_no_workers_or_redis() -> None:
    import kubernetes_validate

    docs = rendered("kubernetes-executor")
    names = [d["metadata"]["name"] for d in docs]
    assert not [n for n in names if n.endswith(("-worker", "-redis", "-pools"))], names
    assert executors(docs) == {"KubernetesExecutor"}
    celery = [
        n
        for c in airflow_containers(docs)
        for n in env_of(c)
        if n.startswith("AIRFLOW__CELERY__") or PLACEMENT.match(n)
    ]
    assert not celery
    role = named(docs, "Role", "-pod-launcher")
    rules = {resource: set(rule["verbs"]) for rule in role["rules"] for resource in rule["resources"]}
    assert {"create", "get", "list", "watch", "delete", "patch"} <= rules["pods"] and "get" in rules["pods/log"]
    binding = named(docs, "RoleBinding", "-pod-launcher")
    account = named(docs, "ServiceAccount", "-pod-launcher")["metadata"]["name"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "data"}]
    for component in ("-scheduler", "-api-server"):  # makes task pods; reads their logs
        assert named(docs, "Deployment", component)["spec"]["template"]["spec"]["serviceAccountName"] == account
    scheduler = named(docs, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    env = env_of(scheduler["containers"][0])
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE"]["value"] == "data"
    template_file = Path(env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]["value"])
    mount = next(m for m in scheduler["containers"][0]["volumeMounts"] if m["mountPath"] == str(template_file.parent))
    volume = next(v for v in scheduler["volumes"] if v["name"] == mount["name"])
    pod = yaml.safe_load(named(docs, "ConfigMap", volume["configMap"]["name"])["data"][template_file.name])
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    (base,) = pod["spec"]["containers"]
    assert base["name"] == "base", "the KubernetesExecutor runs the task in the container named base"
    assert base["command"] == ["tini", "--"], "Airflow's args (python -m ...) must not go to the airflow entrypoint"
    assert base["image"] == scheduler["containers"][0]["image"] and {"requests", "limits"} <= set(base["resources"])
    assert env_of(base)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]


@pytest.mark.parametrize(
    ("executor", "runs_tasks"),
    [("LocalExecutor", "scheduler"), ("CeleryExecutor", "worker"), ("KubernetesExecutor", "pod template")],
)
def test_the_pods_that_run_tasks_submit_to_spark_on_kubernetes_with_its_service_account(executor, runs_tasks) -> None:
    docs = render({"airflow": {"executor": executor}, "spark": {"mode": "kubernetes"}})
    accounts = {
        d["metadata"]["name"].rpartition("-")[2]: d["spec"]["template"]["spec"].get("serviceAccountName")
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"].endswith(("-scheduler", "-worker"))
    }
    if executor == "KubernetesExecutor":
        template = yaml.safe_load(named(docs, "ConfigMap", "-pod-template")["data"]["pod_template.yaml"])
        accounts["pod template"] = template["spec"].get("serviceAccountName")
    spark = [name for name, account in accounts.items() if account == "spark"]
    assert spark == [runs_tasks], accounts


def test_an_external_redis_comes_from_its_secret_and_none_is_deployed() -> None:
    docs = render({"redis": {"enabled": False, "existingSecret": "broker"}})
    assert not [d for d in docs if d["metadata"]["name"].endswith("-redis")]
    (worker,) = named(docs, "StatefulSet", "-worker")["spec"]["template"]["spec"]["containers"]
    assert env_of(worker)["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "broker", "key": "redis-url"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"airflow": {"executor": "SequentialExecutor"}}, "airflow.executor must be one of CeleryExecutor, "),
        ({"redis": {"enabled": False}}, "redis.existingSecret is required when redis.enabled is false"),
    ],
)
def test_a_bad_executor_or_broker_setting_is_refused_by_name(values: dict, message: str) -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render(values)


def test_yaml_files_pass_yamllint() -> None:
    done = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-c", str(REPO / ".yamllint.yaml"), COMPOSE.name, "deploy", "helm"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_object_store_connections_reach_every_airflow_pod_from_their_secret_only() -> None:
    values = {"objectStorage": {"connections": [{"connId": "aws_default", "existingSecret": "datalake-s3"}]}}
    docs = render(values)
    containers = airflow_containers(docs)
    assert containers
    for container in containers:
        ref = env_of(container)["AIRFLOW_CONN_AWS_DEFAULT"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "datalake-s3", "key": "connection"}
    assert not any(doc["kind"] == "Secret" and "datalake-s3" in str(doc) for doc in docs)
    assert all("AIRFLOW_CONN_AWS_DEFAULT" not in env_of(c) for c in airflow_containers(render({})))
    with pytest.raises(Exception, match="existingSecret is required"):
        render({"objectStorage": {"connections": [{"connId": "aws_default"}]}})


def test_the_event_broker_is_an_optional_compose_service_keeping_its_streams(compose) -> None:
    broker = compose["services"]["event-broker"]
    assert broker["profiles"] == ["events"] and "ports" not in broker
    assert broker["command"][broker["command"].index("--appendonly") + 1] == "yes"
    assert broker["volumes"] == ["event-broker-data:/data"] and "event-broker-data" in compose["volumes"]
    connection = json.loads(compose["x-airflow-common"]["environment"]["AIRFLOW_CONN_REDIS_DEFAULT"])
    assert (connection["conn_type"], connection["host"], connection["port"]) == ("redis", "event-broker", 6379)


def test_the_chart_deploys_the_event_broker_and_its_connection_only_when_events_are_enabled() -> None:
    docs = rendered("events")
    broker = named(docs, "StatefulSet", "-event-broker")
    (container,) = broker["spec"]["template"]["spec"]["containers"]
    assert "--appendonly" in container["args"] and broker["spec"]["volumeClaimTemplates"]
    assert named(docs, "Service", "-event-broker")["spec"].get("type", "ClusterIP") == "ClusterIP"
    for airflow in airflow_containers(docs):
        connection = json.loads(env_of(airflow)["AIRFLOW_CONN_REDIS_DEFAULT"]["value"])
        assert connection["host"] == broker["metadata"]["name"] and connection["conn_type"] == "redis"
    default = render({})
    assert not [d for d in default if "event-broker" in d["metadata"]["name"]]
    assert all("AIRFLOW_CONN_REDIS_DEFAULT" not in env_of(c) for c in airflow_containers(default))
    external = {"events": {"enabled": True, "connId": "streams", "broker": {"enabled": False}}}
    with pytest.raises(Exception, match="events.existingSecret is required"):
        render(external)
    external["events"]["existingSecret"] = "event-redis"
    docs = render(external)
    assert not [d for d in docs if "event-broker" in d["metadata"]["name"]]
    for airflow in airflow_containers(docs):
        ref = env_of(airflow)["AIRFLOW_CONN_STREAMS"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "event-redis", "key": "connection"}
