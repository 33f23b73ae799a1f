"""Idempotent consumers: record a message id once, in the same transaction as its effect."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


def processed_events_table(metadata: MetaData) -> Table:
    """``processed_events(consumer, event_id)``: one row per message a consumer has applied."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


async def record_once(session: AsyncSession, table: Table, *, consumer: str, event_id: str) -> bool:
    """True the first time ``event_id`` is seen by ``consumer``; False for a redelivery.

    Call it first in the transaction that applies the message: if that
    transaction rolls back, the record goes with it and a retry applies again.
    """
    result = await session.execute(
        insert(table)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return result.first() is not None
