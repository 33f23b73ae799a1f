"""All SQL about the plan -> Stripe price mapping and the Stripe meters (written by stripe-setup)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import plan_prices, stripe_meters


async def prices(session: AsyncSession) -> dict[str, str]:
    """Plan code -> Stripe price id."""
    rows = await session.execute(select(plan_prices.c.plan, plan_prices.c.price_id))
    return {row.plan: row.price_id for row in rows}


async def save_price(
    session: AsyncSession, *, plan: str, price_id: str, product_id: str, lookup_key: str
) -> None:
    values = {
        "price_id": price_id,
        "product_id": product_id,
        "lookup_key": lookup_key,
        "updated_at": func.now(),
    }
    await session.execute(
        insert(plan_prices)
        .values(plan=plan, **values)
        .on_conflict_do_update(index_elements=["plan"], set_=values)
    )


async def save_meter(session: AsyncSession, *, meter: str, meter_id: str, event_name: str) -> None:
    values = {"meter_id": meter_id, "event_name": event_name, "updated_at": func.now()}
    await session.execute(
        insert(stripe_meters)
        .values(meter=meter, **values)
        .on_conflict_do_update(index_elements=["meter"], set_=values)
    )
