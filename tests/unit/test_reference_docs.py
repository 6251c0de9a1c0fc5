"""docs/reference.md is built from the docstrings (docs/cli.md from the CLI's parser), and the examples use only
arguments the classes take."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys

import pytest

from support.env import REPO

sys.path.insert(0, str(REPO / "scripts"))
import build_cli_reference  # noqa: E402
import build_reference  # noqa: E402

EXAMPLES = [(path, example) for classes in build_reference.CLASSES.values() for path, example in classes]


def test_the_committed_reference_is_the_scripts_output() -> None:
    assert build_reference.OUTPUT.read_text() == build_reference.build(), "run scripts/build_reference.py"


def test_the_committed_cli_reference_is_the_parsers_help() -> None:
    text = build_cli_reference.build()
    assert build_cli_reference.OUTPUT.read_text() == text, "run scripts/build_cli_reference.py"
    for command in ("jobs submit", "jobs cancel", "dags install", "audit list", "registry purge", "dlq replay"):
        assert f"## `enterprise-orchestrator {command}`" in text


def accepted_arguments(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters) - {"self", "args", "kwargs"}
    return names


@pytest.mark.parametrize(("path", "example"), EXAMPLES, ids=[p.rsplit(".", 1)[1] for p, _ in EXAMPLES])
def test_examples_use_real_arguments(path: str, example: str) -> None:
    module_name, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), name)
    accepted = accepted_arguments(cls)
    for node in ast.walk(ast.parse(example)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            unknown = {k.arg for k in node.keywords} - accepted
            assert not unknown, f"{name} takes no {sorted(unknown)}"
