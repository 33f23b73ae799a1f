"""All SQL of billing's part of deprovisioning: every row of one tenant in schema ``billing``."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import (
    customers,
    entitlements_pending,
    feature_overrides,
    invoices,
    processed_events,
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
    """Delete every row of ``tenant_id``; return how many went."""
    return await delete_tenant_rows(session, TENANT_TABLES, tenant_id)


async def tenant_deleted(session: AsyncSession, tenant_id: str) -> bool:
    """Whether the tenant's billing data was deleted: a writer of its rows stores nothing then
    (asked first in the writer's transaction, before its other locks)."""
    return await tenant_data_deleted(session, processed_events, tenant_id)
