"""All SQL of activity's part of deprovisioning: every row of one tenant in schema ``activity``."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity.models import feed_items, feed_items_rebuild, item_states, people, rebuilds
from agentbus_shared.db.tenant_deletion import delete_tenant_rows

TENANT_TABLES: tuple[Table, ...] = (item_states, feed_items, feed_items_rebuild, people, rebuilds)
"""Every activity table holding a tenant's rows, each with a ``tenant_id`` column."""


async def delete_tenant_data(session: AsyncSession, tenant_id: str) -> int:
    """Delete every row of ``tenant_id``; return how many went."""
    return await delete_tenant_rows(session, TENANT_TABLES, tenant_id)
