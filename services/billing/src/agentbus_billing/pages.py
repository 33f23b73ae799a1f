"""Newest-first keyset pages over ``(time, id)``: billing's invoice and Stripe event lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_shared.pagination import decode_cursor, encode_cursor, past_key


async def newest_first(
    session: AsyncSession,
    query: Select[Any],
    time: Column[datetime],
    key: Column[str],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Row[Any]], str | None]:
    """Up to ``limit`` rows of ``query`` after ``cursor``, newest first, and the next cursor."""
    if cursor:
        query = query.where(
            past_key((time, key), decode_cursor(cursor, datetime, str), descending=True)
        )
    ordered = query.order_by(time.desc(), key.desc()).limit(limit + 1)
    rows = (await session.execute(ordered)).all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]._mapping
    return rows[:limit], encode_cursor(last[time], last[key])
