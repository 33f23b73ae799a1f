"""All SQL on platform operators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import platform_operators, users


@dataclass(frozen=True)
class Operator:
    user_id: str
    email: str
    granted_by: str
    granted_at: datetime


async def grant(session: AsyncSession, user_id: str, *, granted_by: str) -> bool:
    """False when the user is an operator already."""
    result = await session.execute(
        pg_insert(platform_operators)
        .values(user_id=user_id, granted_by=granted_by)
        .on_conflict_do_nothing()
        .returning(platform_operators.c.user_id)
    )
    return result.first() is not None


async def revoke(session: AsyncSession, user_id: str) -> bool:
    """False when the user was not an operator."""
    result = await session.execute(
        delete(platform_operators)
        .where(platform_operators.c.user_id == user_id)
        .returning(platform_operators.c.user_id)
    )
    return result.first() is not None


async def all_operators(session: AsyncSession) -> list[Operator]:
    rows = await session.execute(
        select(
            platform_operators.c.user_id,
            users.c.email,
            platform_operators.c.granted_by,
            platform_operators.c.granted_at,
        )
        .join(users, users.c.id == platform_operators.c.user_id)
        .order_by(platform_operators.c.granted_at, users.c.email)
    )
    return [Operator(**row._mapping) for row in rows]
