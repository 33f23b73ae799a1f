"""Which plan an operator may give a tenant it creates: one of billing's catalog needing no
payment (a paid plan is its owner's choice, made with their card)."""

from __future__ import annotations

from agentbus_auth.errors import PlanNeedsPayment, UnknownPlan
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.billing import Operation as Billing
from agentbus_shared.contracts.billing import PlanRef, PlanView
from agentbus_shared.errors import NotFound


class PlanChoice:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def check(self, plan: str) -> None:
        """Raise ``UnknownPlan`` for a plan billing does not sell, ``PlanNeedsPayment`` for a
        paid one; 503 when billing cannot answer."""
        try:
            chosen: PlanView = await self._rpc.request(
                "billing", Billing.PLAN_GET, PlanRef(code=plan), PlanView
            )
        except NotFound:
            raise UnknownPlan(plan) from None
        if chosen.price_cents > 0:
            raise PlanNeedsPayment(plan)
