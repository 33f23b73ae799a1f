"""All SQL about stored Stripe events: each stored once, with its processing status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import stripe_events
from agentbus_billing.outcomes import Outcome
from agentbus_billing.states import stripe_event_status
from agentbus_shared.contracts.billing import StripeEventStatus, StripeEventView
from agentbus_shared.pagination import newest_first

DONE: frozenset[StripeEventStatus] = frozenset({"processed", "ignored"})


def _done_status(outcome: Outcome) -> StripeEventStatus:
    return "ignored" if outcome == "ignored" else "processed"


async def record_received(
    session: AsyncSession,
    *,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    stream_seq: int | None,
) -> None:
    """Store the event as received if it is new."""
    received: StripeEventStatus = "received"
    await session.execute(
        insert(stripe_events)
        .values(
            id=event_id, type=event_type, payload=payload, stream_seq=stream_seq, status=received
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


async def record_processed(
    session: AsyncSession,
    *,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    stream_seq: int | None,
    outcome: Outcome,
) -> bool:
    """Store the event as done, in the transaction that applied it.

    False when it was already done: the caller rolls back, so an event applied
    concurrently by two deliveries counts once (the second waits on the first's row).
    """
    status = _done_status(outcome)
    statement = insert(stripe_events).values(
        id=event_id,
        type=event_type,
        payload=payload,
        stream_seq=stream_seq,
        status=status,
        outcome=outcome,
        processed_at=func.now(),
        attempts=1,
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "status": status,
                "outcome": outcome,
                "processed_at": func.now(),
                "attempts": stripe_events.c.attempts + 1,
                "last_error": None,
            },
            where=stripe_events.c.status.not_in(DONE),
        ).returning(stripe_events.c.id)
    )
    return result.first() is not None


async def status_of(session: AsyncSession, event_id: str) -> StripeEventStatus | None:
    """The event's status (None if never stored), its row locked for this transaction."""
    status = await session.scalar(
        select(stripe_events.c.status).where(stripe_events.c.id == event_id).with_for_update()
    )
    return None if status is None else stripe_event_status(status)


async def finish(session: AsyncSession, event_id: str, *, outcome: Outcome) -> None:
    await session.execute(
        update(stripe_events)
        .where(stripe_events.c.id == event_id)
        .values(
            status=_done_status(outcome),
            outcome=outcome,
            processed_at=func.now(),
            attempts=stripe_events.c.attempts + 1,
            last_error=None,
        )
    )


async def record_failure(
    session: AsyncSession,
    *,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    stream_seq: int | None,
    error: str,
    dead_lettered: bool,
) -> None:
    status: StripeEventStatus = "dead_lettered" if dead_lettered else "failed"
    await session.execute(
        insert(stripe_events)
        .values(
            id=event_id,
            type=event_type,
            payload=payload,
            stream_seq=stream_seq,
            status=status,
            attempts=1,
            last_error=error,
        )
        .on_conflict_do_update(
            index_elements=["id"],
            set_={
                "status": status,
                "attempts": stripe_events.c.attempts + 1,
                "last_error": error,
            },
            where=stripe_events.c.status.not_in(DONE),
        )
    )


async def page(
    session: AsyncSession,
    *,
    status: StripeEventStatus | None,
    event_type: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[StripeEventView], str | None]:
    """Newest first, optionally filtered by status and type."""
    t = stripe_events
    query = select(
        t.c.id,
        t.c.type,
        t.c.status,
        t.c.stream_seq,
        t.c.received_at,
        t.c.processed_at,
        t.c.attempts,
        t.c.last_error,
    )
    if status:
        query = query.where(t.c.status == status)
    if event_type:
        query = query.where(t.c.type == event_type)
    return await newest_first(
        session, query, (t.c.received_at, t.c.id), _event_view, limit=limit, cursor=cursor
    )


def _event_view(r: Row[Any]) -> StripeEventView:
    return StripeEventView(
        id=r.id,
        type=r.type,
        status=stripe_event_status(r.status),
        stream_seq=r.stream_seq,
        received_at=r.received_at,
        processed_at=r.processed_at,
        attempts=r.attempts,
        last_error=r.last_error,
    )
