"""All SQL about the tenants whose entitlements changed and are not yet written to KV."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import entitlements_pending


async def mark(session: AsyncSession, tenant_id: str) -> None:
    """Mark the tenant now (a newer mark replaces an older one)."""
    await session.execute(
        insert(entitlements_pending)
        .values(tenant_id=tenant_id, since=func.clock_timestamp())
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"since": func.clock_timestamp()})
    )


async def marked_at(session: AsyncSession, tenant_id: str) -> datetime | None:
    return await session.scalar(
        select(entitlements_pending.c.since).where(entitlements_pending.c.tenant_id == tenant_id)
    )


async def clear_mark(session: AsyncSession, tenant_id: str, since: datetime) -> None:
    """Clear the tenant's mark if it is still the one made at ``since`` (a newer one stays)."""
    await session.execute(
        delete(entitlements_pending).where(
            entitlements_pending.c.tenant_id == tenant_id,
            entitlements_pending.c.since == since,
        )
    )


async def marked_tenants(session: AsyncSession, limit: int) -> list[str]:
    """Up to ``limit`` marked tenants, the longest waiting first."""
    return list(
        await session.scalars(
            select(entitlements_pending.c.tenant_id)
            .order_by(entitlements_pending.c.since)
            .limit(limit)
        )
    )
