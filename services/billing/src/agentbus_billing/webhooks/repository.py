"""``StripeEventStore``: each Stripe event stored once, with its processing status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import stripe_events
from agentbus_shared.contracts.billing import StripeEventStatus, StripeEventView
from agentbus_shared.pagination import decode_cursor, encode_cursor

DONE: frozenset[str] = frozenset({"processed", "ignored"})


class StripeEventStore:
    async def record_once(
        self,
        session: AsyncSession,
        *,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        stream_seq: int | None,
    ) -> str:
        """Store the event if new; return its status, holding its row lock for this transaction."""
        statement = insert(stripe_events).values(
            id=event_id, type=event_type, payload=payload, stream_seq=stream_seq, status="received"
        )
        # A no-op update on conflict locks the existing row and returns it in the same round trip.
        status = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=["id"], set_={"status": stripe_events.c.status}
            ).returning(stripe_events.c.status)
        )
        return str(status)

    async def record_processed(
        self,
        session: AsyncSession,
        *,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        stream_seq: int | None,
        outcome: str,
    ) -> bool:
        """Store the event as done, in the transaction that applied it.

        False when it was already done: the caller rolls back, so an event applied
        concurrently by two deliveries counts once (the second waits on the first's row).
        """
        status = "ignored" if outcome == "ignored" else "processed"
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

    async def status_of(self, session: AsyncSession, event_id: str) -> str | None:
        return await session.scalar(
            select(stripe_events.c.status).where(stripe_events.c.id == event_id).with_for_update()
        )

    async def finish(self, session: AsyncSession, event_id: str, *, outcome: str) -> None:
        await session.execute(
            update(stripe_events)
            .where(stripe_events.c.id == event_id)
            .values(
                status="ignored" if outcome == "ignored" else "processed",
                outcome=outcome,
                processed_at=func.now(),
                attempts=stripe_events.c.attempts + 1,
                last_error=None,
            )
        )

    async def record_failure(
        self,
        session: AsyncSession,
        *,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        stream_seq: int | None,
        error: str,
        dead_lettered: bool,
    ) -> None:
        status = "dead_lettered" if dead_lettered else "failed"
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
        self,
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
        if cursor:
            received_at, event_id = decode_cursor(cursor, datetime, str)
            query = query.where(
                or_(
                    t.c.received_at < received_at,
                    tuple_(t.c.received_at, t.c.id) < tuple_(received_at, event_id),
                )
            )
        rows = (
            await session.execute(
                query.order_by(t.c.received_at.desc(), t.c.id.desc()).limit(limit + 1)
            )
        ).all()
        items = [
            StripeEventView(
                id=r.id,
                type=r.type,
                status=r.status,
                stream_seq=r.stream_seq,
                received_at=r.received_at,
                processed_at=r.processed_at,
                attempts=r.attempts,
                last_error=r.last_error,
            )
            for r in rows[:limit]
        ]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, encode_cursor(last.received_at, last.id) if last is not None else None
