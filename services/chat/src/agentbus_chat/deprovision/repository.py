"""All SQL of chat's part of deprovisioning: every row of one tenant in schema ``chat``."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_chat.models import agent_items, conversations, messages, runs
from agentbus_shared.db.tenant_deletion import delete_tenant_rows

TENANT_TABLES: tuple[Table, ...] = (agent_items, messages, runs, conversations)
"""Every chat table holding a tenant's rows, children before their conversation."""


async def delete_tenant_data(session: AsyncSession, tenant_id: str) -> int:
    """Delete every row of ``tenant_id``; return how many went."""
    return await delete_tenant_rows(session, TENANT_TABLES, tenant_id)
