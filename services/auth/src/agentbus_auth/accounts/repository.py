"""All SQL on user accounts and their password history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import UserStatus, password_history, users


@dataclass(frozen=True)
class User:
    id: str
    email: str
    email_normalized: str
    display_name: str | None
    password_hash: str
    status: UserStatus
    email_verified_at: datetime | None
    created_at: datetime

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


def normalize_email(email: str) -> str:
    return email.strip().lower()


_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.email_normalized,
    users.c.display_name,
    users.c.password_hash,
    users.c.status,
    users.c.email_verified_at,
    users.c.created_at,
)


async def by_email(session: AsyncSession, email: str) -> User | None:
    row = (
        await session.execute(
            select(*_COLUMNS).where(users.c.email_normalized == normalize_email(email))
        )
    ).first()
    return User(**row._mapping) if row else None


async def by_id(session: AsyncSession, user_id: str, *, for_update: bool = False) -> User | None:
    query = select(*_COLUMNS).where(users.c.id == user_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return User(**row._mapping) if row else None


async def held_status(session: AsyncSession, user_id: str) -> UserStatus | None:
    """The account's status now, held (``FOR SHARE``) until the transaction ends: disabling the
    account, which locks its row, waits for a session being started on it, or goes first."""
    query = select(users.c.status).where(users.c.id == user_id).with_for_update(read=True)
    status: UserStatus | None = await session.scalar(query)
    return status


async def add(
    session: AsyncSession,
    *,
    user_id: str,
    email: str,
    display_name: str | None,
    password_hash: str,
    status: UserStatus,
    email_verified: bool = False,
) -> None:
    await session.execute(
        insert(users).values(
            id=user_id,
            email=email,
            email_normalized=normalize_email(email),
            display_name=display_name,
            password_hash=password_hash,
            status=status,
            email_verified_at=func.now() if email_verified else None,
            password_changed_at=func.now(),
        )
    )
    await session.execute(
        insert(password_history).values(user_id=user_id, password_hash=password_hash)
    )


async def approve_pending(session: AsyncSession, user_id: str) -> bool:
    """Activate an account waiting for approval (and no other: a disabled one stays so); whether
    it was waiting."""
    result = await session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.status == "pending_approval")
        .values(status="active", updated_at=func.now())
        .returning(users.c.id)
    )
    return result.first() is not None


async def mark_email_verified(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.email_verified_at.is_(None))
        .values(email_verified_at=func.now(), updated_at=func.now())
    )


async def replace_hash(session: AsyncSession, user_id: str, *, old: str, new: str) -> None:
    """Store a rehash of the same password (parameters changed); a no-op if it changed meanwhile."""
    await session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.password_hash == old)
        .values(password_hash=new)
    )


async def recent_hashes(session: AsyncSession, user_id: str, count: int) -> list[str]:
    """The hashes of the last ``count`` passwords, newest first (the current one included)."""
    if count <= 0:
        return []
    rows = await session.scalars(
        select(password_history.c.password_hash)
        .where(password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(count)
    )
    return list(rows)


async def set_password(session: AsyncSession, user_id: str, password_hash: str, keep: int) -> None:
    """Make ``password_hash`` current and keep only the last ``keep`` in the history."""
    await session.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, password_changed_at=func.now(), updated_at=func.now())
    )
    await session.execute(
        insert(password_history).values(user_id=user_id, password_hash=password_hash)
    )
    kept = (
        select(password_history.c.id)
        .where(password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(max(keep, 1))
    )
    await session.execute(
        delete(password_history).where(
            password_history.c.user_id == user_id, password_history.c.id.not_in(kept)
        )
    )


async def pending_approval(session: AsyncSession, limit: int = 100) -> list[User]:
    rows = (
        await session.execute(
            select(*_COLUMNS)
            .where(users.c.status == "pending_approval")
            .order_by(users.c.created_at)
            .limit(limit)
        )
    ).all()
    return [User(**r._mapping) for r in rows]
