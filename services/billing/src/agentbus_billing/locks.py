"""Per-object transaction locks, so concurrent events about one object apply one after another."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_for_transaction(session: AsyncSession, key: str) -> None:
    """Hold a PostgreSQL advisory lock on ``key`` until the transaction ends.

    Row locks cannot serialize the first two events about an object that has no
    row yet; an advisory lock on its id can.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )
