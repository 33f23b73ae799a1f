"""All SQL of single sign-on: the logins in flight, the identities linked to accounts, and
whether an account holds a platform operator grant (never linked by email)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import platform_operators, sso_identities, sso_logins
from agentbus_shared.ids import new_id


@dataclass(frozen=True)
class LinkedIdentity:
    """A provider's identity linked to an account."""

    id: str
    provider: str
    email: str | None
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class PendingLogin:
    """A login started in one browser and not yet finished."""

    provider: str
    nonce: str
    code_verifier_sealed: bytes
    return_to: str


async def add_login(
    session: AsyncSession,
    *,
    state_hash: bytes,
    provider: str,
    browser_hash: bytes,
    nonce: str,
    code_verifier_sealed: bytes,
    return_to: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(sso_logins).values(
            state_hash=state_hash,
            provider=provider,
            browser_hash=browser_hash,
            nonce=nonce,
            code_verifier_sealed=code_verifier_sealed,
            return_to=return_to,
            expires_at=expires_at,
        )
    )


async def take_login(
    session: AsyncSession, *, state_hash: bytes, provider: str, browser_hash: bytes
) -> PendingLogin | None:
    """The open, unexpired login of this state, provider and browser, consumed at once (a
    state is spent once); None for any other state."""
    row = (
        await session.execute(
            update(sso_logins)
            .where(
                sso_logins.c.state_hash == state_hash,
                sso_logins.c.provider == provider,
                sso_logins.c.browser_hash == browser_hash,
                sso_logins.c.consumed_at.is_(None),
                sso_logins.c.expires_at > func.now(),
            )
            .values(consumed_at=func.now())
            .returning(
                sso_logins.c.provider,
                sso_logins.c.nonce,
                sso_logins.c.code_verifier_sealed,
                sso_logins.c.return_to,
            )
        )
    ).first()
    return PendingLogin(**row._mapping) if row else None


async def forget_finished_logins(session: AsyncSession) -> None:
    """Drop logins that can no longer be finished."""
    await session.execute(delete(sso_logins).where(sso_logins.c.expires_at < func.now()))


async def linked_user(session: AsyncSession, provider: str, subject: str) -> str | None:
    """The account this provider's ``sub`` is linked to, or None."""
    return (
        await session.execute(
            select(sso_identities.c.user_id).where(
                sso_identities.c.provider == provider, sso_identities.c.subject == subject
            )
        )
    ).scalar()


async def link(
    session: AsyncSession, *, provider: str, subject: str, user_id: str, email: str | None
) -> None:
    await session.execute(
        insert(sso_identities).values(
            id=new_id("sso"),
            provider=provider,
            subject=subject,
            user_id=user_id,
            email=email,
            last_login_at=func.now(),
        )
    )


async def touch(session: AsyncSession, *, provider: str, subject: str, email: str | None) -> None:
    """Note a login through this identity, and the email the provider asserts now."""
    await session.execute(
        update(sso_identities)
        .where(sso_identities.c.provider == provider, sso_identities.c.subject == subject)
        .values(email=email, last_login_at=func.now())
    )


async def identities(session: AsyncSession, user_id: str) -> list[LinkedIdentity]:
    """The identities linked to ``user_id``, the oldest link first."""
    rows = await session.execute(
        select(
            sso_identities.c.id,
            sso_identities.c.provider,
            sso_identities.c.email,
            sso_identities.c.created_at,
            sso_identities.c.last_login_at,
        )
        .where(sso_identities.c.user_id == user_id)
        .order_by(sso_identities.c.created_at, sso_identities.c.id)
    )
    return [LinkedIdentity(**row._mapping) for row in rows]


async def unlink(session: AsyncSession, *, user_id: str, identity_id: str) -> str | None:
    """Remove ``identity_id`` when it is linked to ``user_id``: its provider, else None."""
    return (
        await session.execute(
            delete(sso_identities)
            .where(sso_identities.c.id == identity_id, sso_identities.c.user_id == user_id)
            .returning(sso_identities.c.provider)
        )
    ).scalar()


async def holds_operator_grant(session: AsyncSession, user_id: str) -> bool:
    """Whether ``user_id`` is a platform operator."""
    found = await session.execute(
        select(platform_operators.c.user_id).where(platform_operators.c.user_id == user_id)
    )
    return found.first() is not None
