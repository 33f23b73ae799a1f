"""Which plan an operator may give a tenant it creates: one of billing's catalog needing no
payment (a paid plan is its owner's choice, made with their card)."""

from __future__ import annotations

from agentbus_auth.errors import PlanNeedsPayment, UnknownPlan
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.billing import Operation as Billing
from agentbus_shared.contracts.billing import PlanView
from agentbus_shared.contracts.common import Page


class PlanChoice:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def check(self, plan: str) -> None:
        """Raise ``UnknownPlan`` for a plan billing does not sell, ``PlanNeedsPayment`` for a
        paid one; 503 when billing cannot answer."""
        catalog: Page[PlanView] = await self._rpc.request(
            "billing", Billing.PLANS_LIST, None, Page[PlanView]
        )
        chosen = next((p for p in catalog.items if p.code == plan), None)
        if chosen is None:
            raise UnknownPlan(plan)
        if chosen.price_cents > 0:
            raise PlanNeedsPayment(plan)
