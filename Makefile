# Set-up and entry points. `make run` runs the main job, `make test` the whole test suite; both install
# what is missing first (a .venv from the committed lock).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)-tools/bin/uv)
STAMP := $(VENV)/.installed

.PHONY: venv browser redis run test lint lock docs stop clean

$(VENV)-tools/bin/uv:
	$(PYTHON) -m venv $(VENV)-tools
	$(VENV)-tools/bin/pip install --quiet uv

$(STAMP): requirements/lock.txt pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet requirements/lock.txt
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

browser:  ## headless Chromium (Debian's) for the plugin's browser test
	scripts/install_browser.sh

redis:  ## redis-server (Debian's), the Celery broker of the scale-out tests
	scripts/install_debian_package.sh redis-server redis-server

run: venv  ## the main job: the example processing DAG on the bundled sample data
	scripts/run_main_job.sh

test: venv browser redis  ## the whole test suite
	scripts/run_tests.sh

lint: venv
	$(VENV)/bin/ruff check src tests dags bench scripts spark_jobs
	$(VENV)/bin/ruff format --check src tests dags bench scripts spark_jobs
	$(VENV)/bin/mypy  # strict, on src/ ([tool.mypy] in pyproject.toml)

lock: | $(UV)  ## re-pin requirements/lock.txt from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --extra spark --extra kubernetes --extra celery --extra s3 --extra lineage --extra events --override requirements/overrides.txt \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet -o requirements/lock.txt

docs: $(STAMP)  ## build the docs site into .ci-work/site (offline; `mkdocs serve` to preview)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

stop:  ## stop the embedded registry started by `make run`
	AIRFLOW_HOME=$${AIRFLOW_HOME:-$$PWD/.airflow} $(VENV)/bin/enterprise-orchestrator db stop

clean: stop
	rm -rf $(VENV) $(VENV)-tools .airflow
