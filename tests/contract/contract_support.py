"""Helpers of the contract suite: the recording, and the document generator as a module."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from contract_capture import Captured

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PLANS = ROOT / "services/billing/src/agentbus_billing/plans/catalog.toml"


def load_generator() -> ModuleType:
    """``scripts/generate_api_docs.py`` as a module (it builds every service without connecting)."""
    spec = importlib.util.spec_from_file_location(
        "generate_api_docs", ROOT / "scripts/generate_api_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Recording:
    """Every message seen on ``>`` during the flow, and what the flow returned."""

    messages: list[Captured]
    outcome: dict[str, Any]
