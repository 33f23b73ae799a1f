"""All SQL on sessions and refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import refresh_tokens, sessions
from agentbus_shared.contracts.auth import RevokeReason


@dataclass(frozen=True)
class SessionRow:
    id: str
    user_id: str
    tenant_id: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    access_expires_at: datetime | None
    mfa: bool
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Revoked:
    id: str
    user_id: str
    tenant_id: str
    access_expires_at: datetime | None


_COLUMNS = (
    sessions.c.id,
    sessions.c.user_id,
    sessions.c.tenant_id,
    sessions.c.created_at,
    sessions.c.last_used_at,
    sessions.c.expires_at,
    sessions.c.access_expires_at,
    sessions.c.mfa,
    sessions.c.ip,
    sessions.c.user_agent,
)


async def add_session(
    session: AsyncSession,
    *,
    session_id: str,
    user_id: str,
    tenant_id: str,
    expires_at: datetime,
    access_expires_at: datetime,
    mfa: bool,
    ip: str | None,
    user_agent: str | None,
) -> None:
    await session.execute(
        insert(sessions).values(
            id=session_id,
            user_id=user_id,
            tenant_id=tenant_id,
            expires_at=expires_at,
            access_expires_at=access_expires_at,
            last_used_at=func.now(),
            mfa=mfa,
            ip=ip,
            user_agent=(user_agent or "")[:256] or None,
        )
    )


async def add_refresh_token(
    session: AsyncSession, *, token_hash: bytes, session_id: str, expires_at: datetime
) -> None:
    await session.execute(
        insert(refresh_tokens).values(
            token_hash=token_hash, session_id=session_id, expires_at=expires_at
        )
    )


async def claim_refresh_token(session: AsyncSession, token_hash: bytes) -> SessionRow | None:
    """Consume a live refresh token of a live session, atomically; its session, or ``None``.

    Of two concurrent claims of one token exactly one gets the row: the other
    sees it consumed, which is what reuse detection looks for.
    """
    claimed = (
        update(refresh_tokens)
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.consumed_at.is_(None),
            refresh_tokens.c.expires_at > func.now(),
            sessions.c.id == refresh_tokens.c.session_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > func.now(),
        )
        .values(consumed_at=func.now())
        .returning(*_COLUMNS)
    )
    row = (await session.execute(claimed)).first()
    return SessionRow(**row._mapping) if row else None


async def session_of_consumed_token(session: AsyncSession, token_hash: bytes) -> str | None:
    """The live session whose already-consumed refresh token this is (a reuse), if any."""
    return await session.scalar(
        select(sessions.c.id)
        .select_from(refresh_tokens.join(sessions, sessions.c.id == refresh_tokens.c.session_id))
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.consumed_at.is_not(None),
            sessions.c.revoked_at.is_(None),
        )
    )


async def touch(session: AsyncSession, session_id: str, *, access_expires_at: datetime) -> None:
    await session.execute(
        update(sessions)
        .where(sessions.c.id == session_id)
        .values(last_used_at=func.now(), access_expires_at=access_expires_at)
    )


async def revoke(
    session: AsyncSession,
    *,
    reason: RevokeReason,
    session_ids: list[str] | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
    keep: str | None = None,
) -> list[Revoked]:
    """Revoke the live sessions matching every given filter; the ones revoked by this call."""
    conditions: list[ColumnElement[bool]] = [sessions.c.revoked_at.is_(None)]
    if session_ids is not None:
        conditions.append(sessions.c.id.in_(session_ids))
    if user_id is not None:
        conditions.append(sessions.c.user_id == user_id)
    if tenant_id is not None:
        conditions.append(sessions.c.tenant_id == tenant_id)
    if keep is not None:
        conditions.append(sessions.c.id != keep)
    if len(conditions) == 1:
        raise ValueError("refusing to revoke every session at once")
    rows = (
        await session.execute(
            update(sessions)
            .where(and_(*conditions))
            .values(revoked_at=func.now(), revoke_reason=reason)
            .returning(
                sessions.c.id,
                sessions.c.user_id,
                sessions.c.tenant_id,
                sessions.c.access_expires_at,
            )
        )
    ).all()
    return [Revoked(**r._mapping) for r in rows]


def _live_sessions_of(user_id: str) -> Select[tuple[object, ...]]:
    return (
        select(*_COLUMNS)
        .where(
            sessions.c.user_id == user_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > func.now(),
        )
        .order_by(sessions.c.id.desc())
    )


async def live_sessions(
    session: AsyncSession, user_id: str, *, limit: int, before: str | None
) -> list[SessionRow]:
    query = _live_sessions_of(user_id).limit(limit)
    if before is not None:
        query = query.where(sessions.c.id < before)
    return [SessionRow(**r._mapping) for r in (await session.execute(query)).all()]
