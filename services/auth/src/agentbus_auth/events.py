"""Emitting auth's domain events through its outbox, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import outbox
from agentbus_shared.contracts.events import EventData, make_event


async def emit(session: AsyncSession, data: EventData, *, tenant_id: str) -> None:
    """Queue ``data`` as an event of ``tenant_id``; it is published only if the transaction commits."""
    await outbox.emit(session, make_event(data, tenant_id=tenant_id))
