"""The source checkout the tests run from: its root, and its scripts loaded as modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[5]
"""The repository root (this file is ``libs/shared/src/agentbus_shared/testing/checkout.py``)."""


def script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module, e.g. the API document generator, which builds every
    service without connecting."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def api_docs_generator() -> ModuleType:
    """``scripts/generate_api_docs.py``: ``build_runtimes()``, ``generate()``, ``drifted()``."""
    return script("generate_api_docs")
