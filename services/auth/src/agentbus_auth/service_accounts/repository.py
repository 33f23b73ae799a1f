"""All SQL on service accounts. Every query but the token grant's lookup takes the tenant id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import service_accounts as accounts


@dataclass(frozen=True)
class ServiceAccount:
    id: str
    tenant_id: str
    name: str
    client_id: str
    secret_hash: bytes
    scopes: list[str]
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


async def add(
    session: AsyncSession,
    *,
    account_id: str,
    tenant_id: str,
    name: str,
    client_id: str,
    secret_hash: bytes,
    scopes: list[str],
    created_by: str,
) -> None:
    await session.execute(
        insert(accounts).values(
            id=account_id,
            tenant_id=tenant_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            scopes=scopes,
            created_by=created_by,
        )
    )


async def by_client_id(session: AsyncSession, client_id: str) -> ServiceAccount | None:
    row = (await session.execute(select(accounts).where(accounts.c.client_id == client_id))).first()
    return ServiceAccount(**row._mapping) if row else None


async def in_tenant(
    session: AsyncSession, tenant_id: str, *, limit: int, after: str | None
) -> list[ServiceAccount]:
    query = (
        select(accounts)
        .where(accounts.c.tenant_id == tenant_id)
        .order_by(accounts.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(accounts.c.id > after)
    return [ServiceAccount(**r._mapping) for r in (await session.execute(query)).all()]


async def revoke(session: AsyncSession, tenant_id: str, account_id: str) -> ServiceAccount | None:
    """Revoke a live account of this tenant; ``None`` if there is none."""
    row = (
        await session.execute(
            update(accounts)
            .where(
                accounts.c.id == account_id,
                accounts.c.tenant_id == tenant_id,
                accounts.c.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
            .returning(*accounts.c)
        )
    ).first()
    return ServiceAccount(**row._mapping) if row else None


async def revoke_created_by(
    session: AsyncSession, tenant_id: str, user_id: str
) -> list[ServiceAccount]:
    """Revoke the live accounts ``user_id`` created in this tenant; those revoked now."""
    rows = (
        await session.execute(
            update(accounts)
            .where(
                accounts.c.tenant_id == tenant_id,
                accounts.c.created_by == user_id,
                accounts.c.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
            .returning(*accounts.c)
        )
    ).all()
    return sorted((ServiceAccount(**r._mapping) for r in rows), key=lambda a: a.id)


async def exists(session: AsyncSession, tenant_id: str, account_id: str) -> bool:
    found = await session.scalar(
        select(accounts.c.id).where(accounts.c.id == account_id, accounts.c.tenant_id == tenant_id)
    )
    return found is not None
