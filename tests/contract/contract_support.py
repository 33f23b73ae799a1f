"""Helpers of the contract suite: the shipped plan catalog and the recording of the flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract_capture import Captured

from agentbus_shared.testing.checkout import ROOT

SHIPPED_PLANS = ROOT / "services/billing/src/agentbus_billing/plans/catalog.toml"


@dataclass
class Recording:
    """Every message seen on ``>`` during the flow, and what the flow returned."""

    messages: list[Captured]
    outcome: dict[str, Any]
