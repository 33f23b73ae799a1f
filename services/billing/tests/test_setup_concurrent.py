"""``stripe-setup`` run by two billing replicas starting at once (``STRIPE_SETUP_ON_START``).

Both find the catalog missing and both create it: Stripe refuses the later create of a product
or a meter (its id or event name is taken), and that run uses the object the other one made.
"""

from __future__ import annotations

from billing_support import STRIPE_KEY, StandinServer, make_settings

from agentbus_billing.plans import repository
from agentbus_billing.plans.catalog import load_catalog
from agentbus_billing.plans.setup import provision
from agentbus_billing.stripe_api.client import StripeApi, StripeDict
from agentbus_shared.db import Database


class LookedFirst(StripeApi):
    """A replica that looked before the other one created anything: its first look finds
    nothing; its creates reach Stripe after the other's."""

    def __init__(self, api: StripeApi) -> None:
        super().__init__(api.client)
        self.looked: set[str] = set()

    def _first(self, what: str) -> bool:
        first = what not in self.looked
        self.looked.add(what)
        return first

    async def find_product(self, product_id: str) -> StripeDict | None:
        return None if self._first(product_id) else await super().find_product(product_id)

    async def prices_by_lookup_key(self, lookup_key: str) -> list[StripeDict]:
        return [] if self._first(lookup_key) else await super().prices_by_lookup_key(lookup_key)

    async def meters(self) -> list[StripeDict]:
        return [] if self._first("meters") else await super().meters()


async def test_a_replica_provisioning_after_another_uses_what_that_one_created(
    service_env: dict[str, str], standin_server: StandinServer
) -> None:
    standin_server.reset(None)
    settings = make_settings(stripe_api_key=STRIPE_KEY, stripe_api_base=standin_server.url)
    stripe = StripeApi.from_settings(settings)
    catalog = load_catalog()
    db = Database(service_env["DATABASE_URL"], schema="billing", application_name="test")
    try:
        await provision(stripe, db, catalog)
        async with db.transaction() as session:
            prices = await repository.prices(session)

        late = LookedFirst(stripe)
        report = await provision(late, db, catalog)

        # It believed it created everything, and reached Stripe: no new object, same mapping.
        assert report.created == len(report.changes)
        assert {"meters", *(p.lookup_key for p in catalog.plans if p.is_paid)} <= late.looked
        meters = [m["event_name"] for m in await stripe.meters()]
        assert sorted(meters) == sorted(m.event_name for m in catalog.meters)
        # A price is created by idempotency key (Stripe answers a repeat with the first price;
        # the stand-in makes another, which takes over the lookup key): either way each plan
        # maps to the one price its lookup key names.
        async with db.transaction() as session:
            mapped = await repository.prices(session)
        assert mapped.keys() == prices.keys()
        for plan in catalog.plans:
            if plan.is_paid:
                assert plan.lookup_key is not None
                found = await stripe.prices_by_lookup_key(plan.lookup_key)
                assert [price["id"] for price in found] == [mapped[plan.code]]
    finally:
        await db.dispose()
