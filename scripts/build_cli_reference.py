"""
Write docs/cli.md, the ``enterprise-orchestrator`` reference, from the command's own argument parser.

Each command's section is its ``--help`` output, formatted at a fixed width so the file is the same on every
machine. ``--check`` fails when the committed file is not the script's output (tests/unit/test_reference_docs.py
runs it), so a changed option cannot leave the page behind.

    .venv/bin/python scripts/build_cli_reference.py [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
#: the width the help is formatted at (argparse reads it from COLUMNS)
WIDTH = "100"

HEADER = """# `enterprise-orchestrator`

The provider's command line: the embedded development registry, migrations and retention, jobs, the dead-letter
queue, the audit trail, circuit breakers, pools and a configuration check. It reads the same configuration as the
tasks ([configuration](configuration.md)); the commands that start, replay or cancel runs go through Airflow's REST
API, never its database.

Built from the command's `--help` by `scripts/build_cli_reference.py`; do not edit by hand.
"""


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), summary: str | None = None
) -> Iterator[tuple[tuple[str, ...], str | None, str]]:
    """Every command under ``parser``: its words, its one-line summary and its help, depth first, in order."""
    yield path, summary, parser.format_help()
    for action in parser._actions:  # argparse keeps its subparsers here; it has no public accessor
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                yield from commands(child, (*path, name), summaries.get(name))


def build() -> str:
    """The text of docs/cli.md."""
    os.environ["COLUMNS"] = WIDTH
    from airflow_provider_enterprise.cli import build_parser

    sections = [HEADER]
    for path, summary, text in commands(build_parser()):
        title = " ".join(("enterprise-orchestrator", *path))
        lead = f"{summary[0].upper()}{summary[1:]}.\n\n" if summary else ""
        sections.append(f"## `{title}`\n\n{lead}```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/cli.md is not current")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run scripts/build_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
