"""SQL of the retention sweep: deleting the oldest feed items and the marks on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity.models import feed_items, item_states


async def delete_older_than(session: AsyncSession, cutoff: datetime, *, limit: int) -> int:
    """Delete up to ``limit`` items whose event happened before ``cutoff``, with every
    viewer's marks on them; how many items. Items another replica's sweep is deleting are
    skipped, not waited for."""
    oldest = (
        select(feed_items.c.id)
        .where(feed_items.c.occurred_at < cutoff)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(feed_items).where(feed_items.c.id.in_(oldest)).returning(feed_items.c.id)
    )
    gone = list(result.scalars())
    if gone:
        await session.execute(delete(item_states).where(item_states.c.item_id.in_(gone)))
    return len(gone)
