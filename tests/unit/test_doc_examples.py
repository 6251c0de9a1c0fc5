"""
Every example of README.md and docs/ runs here, or says why it cannot.

- Python: executed in a DAG of its own with the provider's public classes imported (building an operator
  validates its spec, as parsing a DAG file does); a dict alone is a transformation, validated in a job spec.
- YAML: a job spec (it has ``job_name``) is validated as ``enterprise-orchestrator jobs submit`` validates it;
  anything else is loaded as the configuration file (``ENTERPRISE_CONFIG``).
- bash: every ``enterprise-orchestrator`` command line parses with the CLI's own parser, every ``make`` target
  exists, every script named exists.
- An example that cannot run here (it needs a running Airflow, or shows the v1 API) is preceded by
  ``<!-- illustrative: <reason> -->``. Output samples (text, unlabelled blocks) are not examples.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pendulum
import pytest
import yaml
from airflow.sdk import DAG

from airflow_provider_enterprise.cli import build_parser
from airflow_provider_enterprise.config import load_settings
from airflow_provider_enterprise.operators.data_processing import EnterpriseDataProcessingOperator
from airflow_provider_enterprise.operators.dead_letter import DeadLetterReplayOperator
from airflow_provider_enterprise.operators.spark_submit import EnterpriseSparkSubmitOperator
from airflow_provider_enterprise.sensors.circuit import CircuitClosedSensor
from airflow_provider_enterprise.sensors.job import EnterpriseJobSensor
from airflow_provider_enterprise.spec.submission import validate_submission
from support.env import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: generated from the code and checked by tests/unit/test_reference_docs.py
GENERATED = {"reference.md", "cli.md"}
EXAMPLE_LANGUAGES = {"python", "yaml", "bash"}
BLOCK = re.compile(r"(<!-- illustrative: [^>]+-->\n)?```(\w*)\n(.*?)```", re.DOTALL)
NAMESPACE = {
    "DAG": DAG,
    "pendulum": pendulum,
    "EnterpriseDataProcessingOperator": EnterpriseDataProcessingOperator,
    "EnterpriseSparkSubmitOperator": EnterpriseSparkSubmitOperator,
    "DeadLetterReplayOperator": DeadLetterReplayOperator,
    "EnterpriseJobSensor": EnterpriseJobSensor,
    "CircuitClosedSensor": CircuitClosedSensor,
}


def examples() -> list[tuple[str, str, str, bool]]:
    """(page and index, language, code, illustrative) of every example block."""
    found = []
    for page in PAGES:
        if page.name in GENERATED:
            continue
        for index, match in enumerate(BLOCK.finditer(page.read_text())):
            illustrative, language, code = match.groups()
            if language in EXAMPLE_LANGUAGES:
                found.append((f"{page.name}#{index}", language, code, illustrative is not None))
    return found


EXAMPLES = examples()


def run_python(code: str) -> None:
    tree = ast.parse(code)
    placeholders = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value is ...]
    assert not placeholders, f"an example that runs holds no ... placeholder (line {placeholders})"
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Dict):
        transformation = ast.literal_eval(tree.body[0].value)
        validate_submission(
            {
                "job_name": "doc_example",
                "input_path": "/data/in.csv",
                "output_path": "/data/out",
                "processing_logic": {"transformations": [transformation]},
            }
        )
        return
    with DAG("doc_example", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        exec(compile(tree, "<doc example>", "exec"), dict(NAMESPACE))


def run_yaml(code: str, tmp_path: Path) -> None:
    data = yaml.safe_load(code)
    if "job_name" in data:
        validate_submission(data)
        return
    config = tmp_path / "enterprise.yaml"
    config.write_text(code)
    load_settings({"ENTERPRISE_CONFIG": str(config)}, use_airflow=False)


def run_bash(code: str) -> None:
    make_targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))
    for line in code.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        while words and re.match(r"^\w+=", words[0]):  # VAR=value prefixes
            words.pop(0)
        if not words:
            continue
        command = Path(words[0]).name
        if command == "enterprise-orchestrator":
            build_parser().parse_args(words[1:])
        elif command == "make":
            assert set(w for w in words[1:] if not w.startswith("-") and "=" not in w) <= make_targets, line
        elif command == "python":
            assert (REPO / words[1]).exists(), f"{line}: no {words[1]}"


@pytest.mark.parametrize(("where", "language", "code", "illustrative"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_example_runs(where: str, language: str, code: str, illustrative: bool, tmp_path: Path) -> None:
    if illustrative:
        return  # its reason is written beside it; test_every_illustrative_example_says_why checks that
    if language == "python":
        run_python(code)
    elif language == "yaml":
        run_yaml(code, tmp_path)
    else:
        run_bash(code)


def test_every_illustrative_example_says_why() -> None:
    reasons = [reason for page in PAGES for reason in re.findall(r"<!-- illustrative: ([^>]*)-->", page.read_text())]
    assert all(len(reason.strip()) > 20 for reason in reasons), reasons
    assert len(reasons) <= 5, "most examples run: keep illustrative ones the exception"
