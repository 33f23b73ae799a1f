"""All SQL on access requests and platform signup invites (platform-wide: no tenant owns them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts.repository import normalize_email
from agentbus_auth.models import signup_invites, signup_requests
from agentbus_shared.contracts.signup import SignupInviteStatus, SignupRequestStatus
from agentbus_shared.pagination import newest_first


@dataclass(frozen=True)
class SignupRequest:
    id: str
    email: str
    name: str
    company: str | None
    message: str | None
    status: SignupRequestStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    invite_id: str | None


@dataclass(frozen=True)
class SignupInvite:
    id: str
    email: str
    note: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    signup_request_id: str | None
    now: datetime

    @property
    def status(self) -> SignupInviteStatus:
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= self.now else "pending"

    def is_for(self, email: str) -> bool:
        return normalize_email(self.email) == normalize_email(email)


_REQUEST_COLUMNS: tuple[ColumnElement[Any], ...] = (
    signup_requests.c.id,
    signup_requests.c.email,
    signup_requests.c.name,
    signup_requests.c.company,
    signup_requests.c.message,
    signup_requests.c.status,
    signup_requests.c.created_at,
    signup_requests.c.decided_at,
    signup_requests.c.decided_by,
    signup_requests.c.reason,
    signup_requests.c.invite_id,
)

_INVITE_COLUMNS: tuple[ColumnElement[Any], ...] = (
    signup_invites.c.id,
    signup_invites.c.email,
    signup_invites.c.note,
    signup_invites.c.created_at,
    signup_invites.c.created_by,
    signup_invites.c.expires_at,
    signup_invites.c.used_at,
    signup_invites.c.revoked_at,
    signup_invites.c.signup_request_id,
    func.now().label("now"),
)


def _request(row: Row[Any]) -> SignupRequest:
    return SignupRequest(**row._mapping)


def _invite(row: Row[Any]) -> SignupInvite:
    return SignupInvite(**row._mapping)


# ---------------------------------------------------------------- access requests
async def add_request(
    session: AsyncSession,
    *,
    request_id: str,
    email: str,
    name: str,
    company: str | None,
    message: str | None,
    ip: str | None,
) -> bool:
    """Store an access request; False (nothing stored) while one of the same email is pending."""
    result = await session.execute(
        insert(signup_requests)
        .values(
            id=request_id,
            email=email,
            email_normalized=normalize_email(email),
            name=name,
            company=company,
            message=message,
            ip=ip,
        )
        .on_conflict_do_nothing(
            index_elements=[signup_requests.c.email_normalized],
            index_where=text("status = 'pending'"),
        )
        .returning(signup_requests.c.id)
    )
    return result.first() is not None


async def requests_page(
    session: AsyncSession,
    *,
    status: SignupRequestStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[SignupRequest], str | None]:
    query = select(*_REQUEST_COLUMNS)
    if status is not None:
        query = query.where(signup_requests.c.status == status)
    order = (signup_requests.c.created_at, signup_requests.c.id)
    return await newest_first(session, query, order, _request, limit=limit, cursor=cursor)


async def request_for_update(session: AsyncSession, request_id: str) -> SignupRequest | None:
    row = (
        await session.execute(
            select(*_REQUEST_COLUMNS).where(signup_requests.c.id == request_id).with_for_update()
        )
    ).first()
    return _request(row) if row else None


async def decide(
    session: AsyncSession,
    request_id: str,
    *,
    status: SignupRequestStatus,
    decided_by: str,
    reason: str | None = None,
    invite_id: str | None = None,
) -> SignupRequest:
    row = (
        await session.execute(
            update(signup_requests)
            .where(signup_requests.c.id == request_id)
            .values(
                status=status,
                decided_at=func.now(),
                decided_by=decided_by,
                reason=reason,
                invite_id=invite_id,
            )
            .returning(*_REQUEST_COLUMNS)
        )
    ).one()
    return _request(row)


# ---------------------------------------------------------------- signup invites
async def add_invite(
    session: AsyncSession,
    *,
    invite_id: str,
    email: str,
    note: str | None,
    token_hash: bytes,
    created_by: str,
    expires_at: datetime,
    signup_request_id: str | None = None,
) -> SignupInvite:
    row = (
        await session.execute(
            insert(signup_invites)
            .values(
                id=invite_id,
                email=email,
                email_normalized=normalize_email(email),
                note=note,
                token_hash=token_hash,
                created_by=created_by,
                expires_at=expires_at,
                signup_request_id=signup_request_id,
            )
            .returning(*_INVITE_COLUMNS)
        )
    ).one()
    return _invite(row)


async def invites_page(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[SignupInvite], str | None]:
    order = (signup_invites.c.created_at, signup_invites.c.id)
    query = select(*_INVITE_COLUMNS)
    return await newest_first(session, query, order, _invite, limit=limit, cursor=cursor)


async def invite_by_token(session: AsyncSession, token_hash: bytes) -> SignupInvite | None:
    row = (
        await session.execute(
            select(*_INVITE_COLUMNS).where(signup_invites.c.token_hash == token_hash)
        )
    ).first()
    return _invite(row) if row else None


async def invite_for_update(session: AsyncSession, invite_id: str) -> SignupInvite | None:
    row = (
        await session.execute(
            select(*_INVITE_COLUMNS).where(signup_invites.c.id == invite_id).with_for_update()
        )
    ).first()
    return _invite(row) if row else None


async def revoke_invite(session: AsyncSession, invite_id: str) -> SignupInvite:
    row = (
        await session.execute(
            update(signup_invites)
            .where(signup_invites.c.id == invite_id)
            .values(revoked_at=func.coalesce(signup_invites.c.revoked_at, func.now()))
            .returning(*_INVITE_COLUMNS)
        )
    ).one()
    return _invite(row)


async def claim_invite(session: AsyncSession, invite_id: str, user_id: str) -> bool:
    """Mark the invite used by ``user_id``, once: False if it was used, revoked or expired
    meanwhile."""
    result = await session.execute(
        update(signup_invites)
        .where(
            signup_invites.c.id == invite_id,
            signup_invites.c.used_at.is_(None),
            signup_invites.c.revoked_at.is_(None),
            signup_invites.c.expires_at > func.now(),
        )
        .values(used_at=func.now(), used_by=user_id)
        .returning(signup_invites.c.id)
    )
    return result.first() is not None
