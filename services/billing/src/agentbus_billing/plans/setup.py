"""``stripe-setup``: provision the catalog in a Stripe account, idempotently.

For each paid plan: a product (id ``prod_agentbus_<plan>``) and a recurring
price found by its lookup key (a new price, taking over the lookup key, only
when amount, currency or interval changed). For each meter: a Billing Meter
found by its event name. Optionally the webhook endpoint. Then the plan ->
price mapping is written to ``billing.plan_prices``, which the service reads.
Running it twice changes nothing, nor does running it twice at once (every replica of billing
runs it on start with ``STRIPE_SETUP_ON_START``): a product or meter another run created
meanwhile makes Stripe refuse the second create, and is then found instead (a price is created
by idempotency key).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from agentbus_billing.plans import repository
from agentbus_billing.plans.catalog import Catalog, Plan
from agentbus_billing.stripe_api.client import StripeApi, StripeDict, StripeRejected
from agentbus_billing.webhooks.service import HANDLED
from agentbus_shared.db import Database
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Change = Literal["created", "unchanged"]


@dataclass
class SetupReport:
    changes: list[tuple[str, str, Change]] = field(default_factory=list)

    def note(self, kind: str, name: str, change: Change) -> None:
        self.changes.append((kind, name, change))

    @property
    def created(self) -> int:
        return sum(1 for *_, change in self.changes if change == "created")


async def provision(
    stripe: StripeApi, db: Database, catalog: Catalog, *, webhook_url: str | None = None
) -> SetupReport:
    report = SetupReport()
    for plan in catalog.plans:
        if not plan.is_paid:
            continue
        product_id, price_id = await _product_and_price(stripe, plan, report)
        async with db.transaction() as session:
            await repository.save_price(
                session,
                plan=plan.code,
                price_id=price_id,
                product_id=product_id,
                lookup_key=plan.lookup_key or "",
            )
    existing = {m["event_name"]: m for m in await stripe.meters()}
    for spec in catalog.meters:
        meter = existing.get(spec.event_name)
        report.note("meter", spec.event_name, "unchanged" if meter else "created")
        if meter is None:
            meter = await _create_or_find(
                stripe.create_meter(event_name=spec.event_name, display_name=spec.display_name),
                functools.partial(_meter, stripe, spec.event_name),
            )
        async with db.transaction() as session:
            await repository.save_meter(
                session, meter=spec.meter, meter_id=meter["id"], event_name=spec.event_name
            )
    if webhook_url:
        endpoints = await stripe.webhook_endpoints()
        known = any(e.get("url") == webhook_url for e in endpoints)
        report.note("webhook_endpoint", webhook_url, "unchanged" if known else "created")
        if not known:
            await stripe.create_webhook_endpoint(webhook_url, sorted(HANDLED))
    log.info("stripe.setup_done", created=report.created)
    return report


async def _create_or_find(
    create: Awaitable[StripeDict], find: Callable[[], Awaitable[StripeDict | None]]
) -> StripeDict:
    """What ``create`` creates; or, when Stripe refuses it, what ``find`` finds: the object a
    concurrent run (another replica starting) created meanwhile."""
    try:
        return await create
    except StripeRejected:
        found = await find()
        if found is None:
            raise
        return found


async def _meter(stripe: StripeApi, event_name: str) -> StripeDict | None:
    return next((m for m in await stripe.meters() if m["event_name"] == event_name), None)


async def _price(stripe: StripeApi, plan: Plan) -> StripeDict | None:
    assert plan.lookup_key is not None
    prices = await stripe.prices_by_lookup_key(plan.lookup_key)
    return next((p for p in prices if _matches(p, plan)), None)


async def _product_and_price(stripe: StripeApi, plan: Plan, report: SetupReport) -> tuple[str, str]:
    assert plan.lookup_key is not None
    product_id = f"prod_agentbus_{plan.code}"
    product = await stripe.find_product(product_id)
    report.note("product", product_id, "unchanged" if product else "created")
    if product is None:
        await _create_or_find(
            stripe.create_product(product_id, f"Agentbus {plan.name}", plan.code),
            lambda: stripe.find_product(product_id),
        )
    current = await _price(stripe, plan)
    report.note("price", plan.lookup_key, "unchanged" if current else "created")
    if current is None:
        current = await _create_or_find(
            stripe.create_price(
                product_id=product_id,
                lookup_key=plan.lookup_key,
                unit_amount=plan.price_cents,
                currency=plan.currency,
                interval=plan.interval,
            ),
            lambda: _price(stripe, plan),
        )
    return product_id, str(current["id"])


def _matches(price: StripeDict, plan: Plan) -> bool:
    recurring = price.get("recurring") or {}
    return (
        price.get("unit_amount") == plan.price_cents
        and str(price.get("currency", "")).lower() == plan.currency
        and recurring.get("interval") == plan.interval
    )
