# syntax=docker/dockerfile:1
# One image for every process of the deployment: the Airflow components (entrypoint `airflow`) and the Spark
# master, worker and Connect server (entrypoint `spark-class` / `spark-submit`, from the same pyspark 4.3.0,
# so drivers, executors and the cluster always run one Spark version). Built from this repository:
#   docker build -t airflow-provider-enterprise:0.1.0 .
# No credentials are baked in: they come from the deployment's env file (docker-compose) or Secrets (Helm).
FROM python:3.11-slim-bookworm

ARG AIRFLOW_UID=50000
ENV PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    ENTERPRISE_OUTPUT_DIR=/opt/enterprise/output \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1

# Java for Spark; curl for the Spark provider's driver-status polling; tini as PID 1.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl tini procps \
    && rm -rf /var/lib/apt/lists/*

# UV_COMPILE_BYTECODE: site-packages ships compiled, since the airflow user cannot write .pyc files there and every
# task process would otherwise compile what it imports (500-600 ms a task, docs/benchmarks.md)
RUN pip install --no-cache-dir "uv==0.9.*"

# The provider with its Spark, Kubernetes (Spark on Kubernetes, KubernetesExecutor), Celery (CeleryExecutor) and S3
# (object-store paths through the Amazon provider)
# extras, every version pinned by the committed lock;
# pyspark-client is excluded (it overwrites pyspark's files: requirements/overrides.txt).
WORKDIR /opt/provider
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY src ./src
RUN uv pip install --system --constraint requirements/lock.txt --override requirements/overrides.txt \
        ".[spark,kubernetes,celery,s3]" \
    && python -c "import pyspark; assert pyspark.__version__ == '4.3.0', pyspark.__version__"

COPY dags /opt/airflow/dags
COPY spark_jobs /opt/airflow/spark_jobs
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home airflow \
    && mkdir -p /opt/airflow/logs /opt/enterprise/output \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /opt/enterprise \
    && chmod -R g+rwX /opt/airflow /opt/enterprise

USER ${AIRFLOW_UID}
WORKDIR /opt/airflow
ENTRYPOINT ["tini", "--", "airflow"]
CMD ["version"]
