"""All SQL about subscriptions and the tenants' Stripe customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import customers, subscriptions
from agentbus_billing.states import subscription_status
from agentbus_shared.contracts.billing import SubscriptionStatus


@dataclass(frozen=True)
class SubscriptionState:
    """The part of a subscription that a change sets (and that events report)."""

    plan: str
    status: SubscriptionStatus
    stripe_subscription_id: str | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


@dataclass(frozen=True)
class StoredSubscription:
    """A tenant's subscription with the Stripe event that set it (newer events only move it)."""

    tenant_id: str
    state: SubscriptionState
    stripe_version: int | None
    stripe_event_id: str | None


async def of_tenant(
    session: AsyncSession, tenant_id: str, *, for_update: bool = False
) -> StoredSubscription | None:
    query = select(subscriptions).where(subscriptions.c.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return StoredSubscription(
        tenant_id=row.tenant_id,
        state=SubscriptionState(
            plan=row.plan,
            status=subscription_status(row.status),
            stripe_subscription_id=row.stripe_subscription_id,
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            cancel_at_period_end=row.cancel_at_period_end,
        ),
        stripe_version=row.stripe_version,
        stripe_event_id=row.stripe_event_id,
    )


async def tenant_of_subscription(session: AsyncSession, stripe_subscription_id: str) -> str | None:
    return await session.scalar(
        select(subscriptions.c.tenant_id)
        .where(subscriptions.c.stripe_subscription_id == stripe_subscription_id)
        .limit(1)
    )


async def insert_if_absent(session: AsyncSession, tenant_id: str, state: SubscriptionState) -> bool:
    result = await session.execute(
        insert(subscriptions)
        .values(tenant_id=tenant_id, **_values(state))
        .on_conflict_do_nothing(index_elements=["tenant_id"])
        .returning(subscriptions.c.tenant_id)
    )
    return result.first() is not None


async def save(
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
    session: AsyncSession, tenant_id: str, *, stripe_version: int, stripe_event_id: str
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


# ------------------------------------------------------------ Stripe customers
async def customer_of(session: AsyncSession, tenant_id: str) -> str | None:
    return await session.scalar(
        select(customers.c.stripe_customer_id).where(customers.c.tenant_id == tenant_id)
    )


async def tenant_of_customer(session: AsyncSession, customer_id: str) -> str | None:
    return await session.scalar(
        select(customers.c.tenant_id).where(customers.c.stripe_customer_id == customer_id)
    )


async def link_customer(session: AsyncSession, tenant_id: str, customer_id: str) -> bool:
    """Remember the tenant's Stripe customer; False when the tenant already has one."""
    result = await session.execute(
        insert(customers)
        .values(tenant_id=tenant_id, stripe_customer_id=customer_id)
        .on_conflict_do_nothing()
        .returning(customers.c.tenant_id)
    )
    return result.first() is not None
