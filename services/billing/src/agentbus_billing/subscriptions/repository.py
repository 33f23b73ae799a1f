"""All SQL about subscriptions, Stripe customers and the plan -> price mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import customers, plan_prices, stripe_meters, subscriptions


@dataclass(frozen=True)
class SubscriptionState:
    """The part of a subscription that a change sets (and that events report)."""

    plan: str
    status: str
    stripe_subscription_id: str | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


@dataclass(frozen=True)
class SubscriptionRow:
    tenant_id: str
    state: SubscriptionState
    stripe_version: int | None
    stripe_event_id: str | None


class SubscriptionRepository:
    async def get(
        self, session: AsyncSession, tenant_id: str, *, for_update: bool = False
    ) -> SubscriptionRow | None:
        query = select(subscriptions).where(subscriptions.c.tenant_id == tenant_id)
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).first()
        if row is None:
            return None
        return SubscriptionRow(
            tenant_id=row.tenant_id,
            state=SubscriptionState(
                plan=row.plan,
                status=row.status,
                stripe_subscription_id=row.stripe_subscription_id,
                current_period_start=row.current_period_start,
                current_period_end=row.current_period_end,
                cancel_at_period_end=row.cancel_at_period_end,
            ),
            stripe_version=row.stripe_version,
            stripe_event_id=row.stripe_event_id,
        )

    async def tenant_of(self, session: AsyncSession, stripe_subscription_id: str) -> str | None:
        return await session.scalar(
            select(subscriptions.c.tenant_id)
            .where(subscriptions.c.stripe_subscription_id == stripe_subscription_id)
            .limit(1)
        )

    async def insert_if_absent(
        self, session: AsyncSession, tenant_id: str, state: SubscriptionState
    ) -> bool:
        result = await session.execute(
            insert(subscriptions)
            .values(tenant_id=tenant_id, **_values(state))
            .on_conflict_do_nothing(index_elements=["tenant_id"])
            .returning(subscriptions.c.tenant_id)
        )
        return result.first() is not None

    async def save(
        self,
        session: AsyncSession,
        tenant_id: str,
        state: SubscriptionState,
        *,
        stripe_version: int | None,
        stripe_event_id: str | None,
    ) -> None:
        values = {
            **_values(state),
            "stripe_version": stripe_version,
            "stripe_event_id": stripe_event_id,
            "updated_at": func.now(),
        }
        await session.execute(
            insert(subscriptions)
            .values(tenant_id=tenant_id, **values)
            .on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )

    async def set_version(
        self, session: AsyncSession, tenant_id: str, *, stripe_version: int, stripe_event_id: str
    ) -> None:
        await session.execute(
            update(subscriptions)
            .where(subscriptions.c.tenant_id == tenant_id)
            .values(stripe_version=stripe_version, stripe_event_id=stripe_event_id)
        )


def _values(state: SubscriptionState) -> dict[str, object]:
    return {
        "plan": state.plan,
        "status": state.status,
        "stripe_subscription_id": state.stripe_subscription_id,
        "current_period_start": state.current_period_start,
        "current_period_end": state.current_period_end,
        "cancel_at_period_end": state.cancel_at_period_end,
    }


class CustomerRepository:
    async def customer_of(self, session: AsyncSession, tenant_id: str) -> str | None:
        return await session.scalar(
            select(customers.c.stripe_customer_id).where(customers.c.tenant_id == tenant_id)
        )

    async def tenant_of(self, session: AsyncSession, customer_id: str) -> str | None:
        return await session.scalar(
            select(customers.c.tenant_id).where(customers.c.stripe_customer_id == customer_id)
        )

    async def link(self, session: AsyncSession, tenant_id: str, customer_id: str) -> bool:
        """Remember the tenant's Stripe customer; False when the tenant already has one."""
        result = await session.execute(
            insert(customers)
            .values(tenant_id=tenant_id, stripe_customer_id=customer_id)
            .on_conflict_do_nothing()
            .returning(customers.c.tenant_id)
        )
        return result.first() is not None


class PriceRepository:
    async def prices(self, session: AsyncSession) -> dict[str, str]:
        rows = await session.execute(select(plan_prices.c.plan, plan_prices.c.price_id))
        return {row.plan: row.price_id for row in rows}

    async def save_price(
        self, session: AsyncSession, *, plan: str, price_id: str, product_id: str, lookup_key: str
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

    async def meters(self, session: AsyncSession) -> dict[str, str]:
        rows = await session.execute(select(stripe_meters.c.meter, stripe_meters.c.event_name))
        return {row.meter: row.event_name for row in rows}

    async def save_meter(
        self, session: AsyncSession, *, meter: str, meter_id: str, event_name: str
    ) -> None:
        values = {"meter_id": meter_id, "event_name": event_name, "updated_at": func.now()}
        await session.execute(
            insert(stripe_meters)
            .values(meter=meter, **values)
            .on_conflict_do_update(index_elements=["meter"], set_=values)
        )
