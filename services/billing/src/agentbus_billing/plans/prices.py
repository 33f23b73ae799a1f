"""``PriceBook``: which Stripe price bills which plan (from ``plan_prices``, written by stripe-setup)."""

from __future__ import annotations

import time

from agentbus_billing.plans import repository
from agentbus_billing.plans.catalog import Catalog, Plan
from agentbus_shared.db import Database
from agentbus_shared.errors import ServiceUnavailable

RELOAD_AFTER = 2.0
"""Seconds between two reloads of the mapping caused by an unknown plan or price."""


class PlanNotProvisioned(ServiceUnavailable):
    code = "plan_not_provisioned"
    default_message = "This plan has no Stripe price yet; run `agentbus billing stripe-setup`."


class PriceBook:
    def __init__(self, db: Database, catalog: Catalog) -> None:
        self._db = db
        self._catalog = catalog
        self._prices: dict[str, str] = {}
        self._loaded_at = 0.0

    async def load(self) -> dict[str, str]:
        async with self._db.session() as session:
            self._prices = await repository.prices(session)
        self._loaded_at = time.monotonic()
        return dict(self._prices)

    async def _reload_on_miss(self) -> None:
        # stripe-setup may have run since; look again, but at most once per interval.
        if time.monotonic() - self._loaded_at > RELOAD_AFTER:
            await self.load()

    async def price_for(self, plan: str) -> str:
        if plan not in self._prices:
            await self._reload_on_miss()
        try:
            return self._prices[plan]
        except KeyError:
            raise PlanNotProvisioned() from None

    async def plan_for(self, price_id: str | None, lookup_key: str | None = None) -> Plan | None:
        """The plan a Stripe price bills (by id, else by lookup key), or None for a foreign price."""
        if price_id and price_id not in self._prices.values():
            await self._reload_on_miss()
        for code, known in self._prices.items():
            if known == price_id:
                return self._catalog.find(code)
        return self._catalog.by_lookup_key(lookup_key) if lookup_key else None
