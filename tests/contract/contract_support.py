"""Helpers of the contract suite: the shipped plan catalog, the recording of the flow, and the
calls every flow step makes (a bearer header, a response checked and read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from contract_capture import Captured

from agentbus_shared.testing.checkout import ROOT

SHIPPED_PLANS = ROOT / "services/billing/src/agentbus_billing/plans/catalog.toml"


@dataclass
class Recording:
    """Every message seen on ``>`` during the flow, and what the flow returned."""

    messages: list[Captured]
    outcome: dict[str, Any]


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header carrying ``tokens``' access token."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The body of ``response``, after checking it answered with ``status``."""
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None
