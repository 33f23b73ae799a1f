"""All SQL on signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import KeyState, signing_keys


@dataclass(frozen=True)
class StoredKey:
    kid: str
    state: KeyState
    public_jwk: dict[str, Any]
    private_jwk_sealed: bytes | None
    kek_fingerprint: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    publish_until: datetime | None


async def lock_keys(session: AsyncSession) -> None:
    """Serialize key changes across replicas and the CLI for this transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('auth.signing_keys'))"))


async def all_keys(session: AsyncSession) -> list[StoredKey]:
    rows = (await session.execute(select(signing_keys).order_by(signing_keys.c.created_at))).all()
    return [StoredKey(**row._mapping) for row in rows]


async def add_key(
    session: AsyncSession,
    *,
    kid: str,
    state: KeyState,
    public_jwk: dict[str, Any],
    private_jwk_sealed: bytes,
    kek_fingerprint: str,
    now: datetime,
) -> None:
    await session.execute(
        insert(signing_keys).values(
            kid=kid,
            state=state,
            public_jwk=public_jwk,
            private_jwk_sealed=private_jwk_sealed,
            kek_fingerprint=kek_fingerprint,
            created_at=now,
            activated_at=now if state == "active" else None,
        )
    )


async def retire(
    session: AsyncSession, kid: str, *, now: datetime, publish_until: datetime
) -> None:
    """Retire a key: it never signs again, so its private half is destroyed."""
    await session.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(
            state="retired", retired_at=now, publish_until=publish_until, private_jwk_sealed=None
        )
    )


async def activate(session: AsyncSession, kid: str, *, now: datetime) -> None:
    await session.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(state="active", activated_at=now)
    )
