"""All SQL on TOTP factors, recovery codes and MFA challenges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import mfa_challenges, recovery_codes, totp_factors


@dataclass(frozen=True)
class Factor:
    user_id: str
    secret_sealed: bytes
    confirmed: bool


@dataclass(frozen=True)
class Challenge:
    id: str
    user_id: str
    tenant_id: str


async def factor(session: AsyncSession, user_id: str) -> Factor | None:
    row = (
        await session.execute(
            select(
                totp_factors.c.user_id,
                totp_factors.c.secret_sealed,
                totp_factors.c.confirmed_at.is_not(None).label("confirmed"),
            ).where(totp_factors.c.user_id == user_id)
        )
    ).first()
    return Factor(**row._mapping) if row else None


async def has_confirmed_factor(session: AsyncSession, user_id: str) -> bool:
    found = await session.scalar(
        select(totp_factors.c.user_id).where(
            totp_factors.c.user_id == user_id, totp_factors.c.confirmed_at.is_not(None)
        )
    )
    return found is not None


async def enabled_since(session: AsyncSession, user_id: str) -> datetime | None:
    """When the user's TOTP factor was confirmed; ``None`` while TOTP is off."""
    confirmed: datetime | None = await session.scalar(
        select(totp_factors.c.confirmed_at).where(totp_factors.c.user_id == user_id)
    )
    return confirmed


async def recovery_codes_left(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(recovery_codes)
        .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
    )
    return int(count or 0)


async def start_enrollment(session: AsyncSession, user_id: str, secret_sealed: bytes) -> None:
    """Store a new unconfirmed secret (replacing an earlier unconfirmed one)."""
    await session.execute(
        pg_insert(totp_factors)
        .values(user_id=user_id, secret_sealed=secret_sealed)
        .on_conflict_do_update(
            index_elements=[totp_factors.c.user_id],
            set_={"secret_sealed": secret_sealed, "created_at": func.now(), "last_used_step": None},
            where=totp_factors.c.confirmed_at.is_(None),
        )
    )


async def claim_step(session: AsyncSession, user_id: str, step: int) -> bool:
    """Accept TOTP time step ``step`` once: later than every step accepted before (replay guard)."""
    result = await session.execute(
        update(totp_factors)
        .where(
            totp_factors.c.user_id == user_id,
            or_(totp_factors.c.last_used_step.is_(None), totp_factors.c.last_used_step < step),
        )
        .values(last_used_step=step)
        .returning(totp_factors.c.user_id)
    )
    return result.first() is not None


async def confirm(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        update(totp_factors)
        .where(totp_factors.c.user_id == user_id)
        .values(confirmed_at=func.now())
    )


async def remove_factor(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(totp_factors).where(totp_factors.c.user_id == user_id))
    await session.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))


async def replace_recovery_codes(session: AsyncSession, user_id: str, macs: list[bytes]) -> None:
    await session.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    await session.execute(
        insert(recovery_codes), [{"user_id": user_id, "code_mac": mac} for mac in macs]
    )


async def use_recovery_code(session: AsyncSession, user_id: str, mac: bytes) -> bool:
    """Spend a recovery code, once (atomic): False if unknown or already used."""
    result = await session.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_mac == mac,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=func.now())
        .returning(recovery_codes.c.id)
    )
    return result.first() is not None


async def add_challenge(
    session: AsyncSession,
    *,
    challenge_id: str,
    token_hash: bytes,
    user_id: str,
    tenant_id: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(mfa_challenges).values(
            id=challenge_id,
            token_hash=token_hash,
            user_id=user_id,
            tenant_id=tenant_id,
            expires_at=expires_at,
        )
    )


async def take_challenge_attempt(
    session: AsyncSession, token_hash: bytes, *, max_attempts: int
) -> Challenge | None:
    """Count one attempt on a live challenge, atomically; ``None`` if none is left."""
    row = (
        await session.execute(
            update(mfa_challenges)
            .where(
                mfa_challenges.c.token_hash == token_hash,
                mfa_challenges.c.consumed_at.is_(None),
                mfa_challenges.c.expires_at > func.now(),
                mfa_challenges.c.attempts < max_attempts,
            )
            .values(attempts=mfa_challenges.c.attempts + 1)
            .returning(mfa_challenges.c.id, mfa_challenges.c.user_id, mfa_challenges.c.tenant_id)
        )
    ).first()
    return Challenge(**row._mapping) if row else None


async def consume_challenge(session: AsyncSession, challenge_id: str) -> bool:
    result = await session.execute(
        update(mfa_challenges)
        .where(mfa_challenges.c.id == challenge_id, mfa_challenges.c.consumed_at.is_(None))
        .values(consumed_at=func.now())
        .returning(mfa_challenges.c.id)
    )
    return result.first() is not None
