"""All SQL of billing's part of deprovisioning: every row of one tenant in schema ``billing``,
with the Stripe events about it that billing keeps (they have no ``tenant_id`` column)."""

from __future__ import annotations

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import (
    customers,
    entitlements_pending,
    feature_overrides,
    invoices,
    processed_events,
    stripe_events,
    subscriptions,
    usage_counters,
    usage_records,
    usage_thresholds,
)
from agentbus_shared.db.tenant_deletion import delete_tenant_rows, tenant_data_deleted

TENANT_TABLES: tuple[Table, ...] = (
    entitlements_pending,
    feature_overrides,
    usage_thresholds,
    usage_counters,
    usage_records,
    invoices,
    subscriptions,
    customers,
)
"""Every billing table holding a tenant's rows, each with a ``tenant_id`` column."""


async def delete_tenant_data(session: AsyncSession, tenant_id: str) -> int:
    """Delete every row of ``tenant_id`` and Stripe's events about it; return how many went."""
    events = await _delete_stripe_events(session, tenant_id)
    return events + await delete_tenant_rows(session, TENANT_TABLES, tenant_id)


async def _delete_stripe_events(session: AsyncSession, tenant_id: str) -> int:
    """Stripe's events whose object names the tenant (metadata, checkout reference) or is, or
    belongs to, its customer or subscription: their payloads hold the tenant's billing details."""
    obj = stripe_events.c.payload[("data", "object")]
    ids = (
        select(customers.c.stripe_customer_id)
        .where(customers.c.tenant_id == tenant_id)
        .union(
            select(subscriptions.c.stripe_subscription_id).where(
                subscriptions.c.tenant_id == tenant_id,
                subscriptions.c.stripe_subscription_id.is_not(None),
            )
        )
    )
    names_tenant = or_(
        obj[("metadata", "tenant_id")].astext == tenant_id,
        obj[("subscription_details", "metadata", "tenant_id")].astext == tenant_id,
        obj["client_reference_id"].astext == tenant_id,
        obj["id"].astext.in_(ids),
        obj["customer"].astext.in_(ids),
        obj["subscription"].astext.in_(ids),
    )
    result = await session.execute(delete(stripe_events).where(names_tenant))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def tenant_deleted(session: AsyncSession, tenant_id: str) -> bool:
    """Whether the tenant's billing data was deleted: a writer of its rows stores nothing then
    (asked first in the writer's transaction, before its other locks)."""
    return await tenant_data_deleted(session, processed_events, tenant_id)
