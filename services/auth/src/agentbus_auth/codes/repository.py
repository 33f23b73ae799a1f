"""All SQL on one-time codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import one_time_codes as codes


class Purpose(StrEnum):
    """What a one-time code proves."""

    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret
    EMAIL_CHANGE = "email_change"


@dataclass(frozen=True)
class Attempt:
    code_id: str
    code_mac: bytes


async def supersede(session: AsyncSession, user_id: str, purpose: Purpose) -> None:
    """Close the user's open codes of this purpose: only the newest code works."""
    await session.execute(
        update(codes)
        .where(
            codes.c.user_id == user_id,
            codes.c.purpose == purpose.value,
            codes.c.consumed_at.is_(None),
        )
        .values(consumed_at=func.now())
    )


async def close_all(session: AsyncSession, user_id: str) -> None:
    """Close every open code of the user, whatever it proves (the account is disabled)."""
    await session.execute(
        update(codes)
        .where(codes.c.user_id == user_id, codes.c.consumed_at.is_(None))
        .values(consumed_at=func.now())
    )


async def add(
    session: AsyncSession,
    *,
    code_id: str,
    user_id: str,
    purpose: Purpose,
    code_mac: bytes,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(codes).values(
            id=code_id,
            user_id=user_id,
            purpose=purpose.value,
            code_mac=code_mac,
            expires_at=expires_at,
        )
    )


async def take_attempt(
    session: AsyncSession, user_id: str, purpose: Purpose, *, max_attempts: int
) -> Attempt | None:
    """Count one attempt against the user's open code, atomically; ``None`` when none is left.

    The attempt is counted before the comparison, so concurrent guesses can
    never exceed ``max_attempts`` in total.
    """
    open_code = (
        select(codes.c.id)
        .where(
            codes.c.user_id == user_id,
            codes.c.purpose == purpose.value,
            codes.c.consumed_at.is_(None),
            codes.c.expires_at > func.now(),
        )
        .order_by(codes.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            update(codes)
            .where(codes.c.id == open_code, codes.c.attempts < max_attempts)
            .values(attempts=codes.c.attempts + 1)
            .returning(codes.c.id, codes.c.code_mac)
        )
    ).first()
    return Attempt(code_id=row.id, code_mac=row.code_mac) if row else None


async def consume(session: AsyncSession, code_id: str) -> bool:
    """Use the code, once: False when it was used (or superseded) meanwhile."""
    result = await session.execute(
        update(codes)
        .where(
            codes.c.id == code_id, codes.c.consumed_at.is_(None), codes.c.expires_at > func.now()
        )
        .values(consumed_at=func.now())
        .returning(codes.c.id)
    )
    return result.first() is not None
