"""``PriceBook``: which Stripe price bills which plan (from ``plan_prices``, written by stripe-setup)."""

from __future__ import annotations

from agentbus_billing.plans.catalog import Catalog, Plan
from agentbus_billing.subscriptions.repository import PriceRepository
from agentbus_shared.db import Database
from agentbus_shared.errors import ServiceUnavailable


class PlanNotProvisioned(ServiceUnavailable):
    code = "plan_not_provisioned"
    default_message = "This plan has no Stripe price yet; run `agentbus billing stripe-setup`."


class PriceBook:
    def __init__(self, db: Database, catalog: Catalog) -> None:
        self._db = db
        self._catalog = catalog
        self._repo = PriceRepository()
        self._prices: dict[str, str] = {}

    async def load(self) -> dict[str, str]:
        async with self._db.session() as session:
            self._prices = await self._repo.prices(session)
        return dict(self._prices)

    async def price_for(self, plan: str) -> str:
        if plan not in self._prices:
            await self.load()
        try:
            return self._prices[plan]
        except KeyError:
            raise PlanNotProvisioned() from None

    async def plan_for(self, price_id: str | None, lookup_key: str | None = None) -> Plan | None:
        """The plan a Stripe price bills (by id, else by lookup key), or None for a foreign price."""
        if price_id and price_id not in self._prices.values():
            await self.load()
        for code, known in self._prices.items():
            if known == price_id:
                return self._catalog.find(code)
        return self._catalog.by_lookup_key(lookup_key) if lookup_key else None
