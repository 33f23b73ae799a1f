"""Emitting auth's domain events through its outbox, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import outbox
from agentbus_shared.contracts.events import EventData, make_event
from agentbus_shared.db import Outbox

_outbox = Outbox(outbox)


async def emit(session: AsyncSession, data: EventData, *, tenant_id: str) -> None:
    """Queue ``data`` as an event; it is published only if the transaction commits."""
    await _outbox.emit(session, make_event(data, tenant_id=tenant_id))
