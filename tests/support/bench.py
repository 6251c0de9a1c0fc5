"""Import a benchmark script of ``bench/`` as a module, as it sees itself when run: ``bench/`` on sys.path."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from support.env import REPO

BENCH = REPO / "bench"


def load_bench(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (registered in ``sys.modules``: dataclasses look their module up there)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
