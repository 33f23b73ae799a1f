"""All SQL of the mailer: which messages it has sent (one processed-events row per message)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import processed_events
from agentbus_shared.db import record_once


async def was_sent(session: AsyncSession, consumer: str, event_id: str) -> bool:
    found = await session.scalar(
        select(processed_events.c.event_id).where(
            processed_events.c.consumer == consumer, processed_events.c.event_id == event_id
        )
    )
    return found is not None


async def mark_sent(session: AsyncSession, consumer: str, event_id: str) -> None:
    await record_once(session, processed_events, consumer=consumer, event_id=event_id)
