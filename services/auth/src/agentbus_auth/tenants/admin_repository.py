"""SQL of tenant administration: name and slug, pending invites, settings. Every query takes
the tenant id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import invites, tenant_settings, tenants, users
from agentbus_auth.tenants.repository import TENANT_COLUMNS, Tenant, pending_invite
from agentbus_shared.contracts.common import Role
from agentbus_shared.pagination import newest_first


@dataclass(frozen=True)
class PendingInvite:
    id: str
    email: str
    role: Role
    invited_by: str | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class StoredSettings:
    billing_email: str | None
    contacts: list[dict[str, Any]]
    webhook_url: str | None
    webhook_events: list[str]
    flags: dict[str, Any]
    updated_at: datetime


async def slug_taken(session: AsyncSession, slug: str, *, by_other_than: str) -> bool:
    found = await session.scalar(
        select(tenants.c.id).where(tenants.c.slug == slug, tenants.c.id != by_other_than)
    )
    return found is not None


SLUG_CONSTRAINT = "uq_tenants_slug"


def is_slug_conflict(error: IntegrityError) -> bool:
    """Whether ``error`` is another tenant holding the slug (and not some other violation)."""
    violation = getattr(error.orig, "__cause__", None)
    return getattr(violation, "constraint_name", None) == SLUG_CONSTRAINT


async def rename(session: AsyncSession, tenant_id: str, values: dict[str, str]) -> Tenant:
    """Set the tenant's ``name`` and/or ``slug``; the tenant as stored then."""
    row = (
        await session.execute(
            update(tenants)
            .where(tenants.c.id == tenant_id)
            .values(**values)
            .returning(*TENANT_COLUMNS)
        )
    ).one()
    return Tenant(**row._mapping)


def _pending(tenant_id: str) -> tuple[ColumnElement[bool], ...]:
    return (invites.c.tenant_id == tenant_id, pending_invite())


def _invite(row: Row[Any]) -> PendingInvite:
    return PendingInvite(
        id=row.id,
        email=row.email,
        role=Role(row.role),
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def pending_invites(
    session: AsyncSession, tenant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[PendingInvite], str | None]:
    """The tenant's invites still waiting for an answer, newest first."""
    query = (
        select(
            invites.c.id,
            invites.c.email,
            invites.c.role,
            users.c.email.label("invited_by"),
            invites.c.created_at,
            invites.c.expires_at,
        )
        .select_from(invites.outerjoin(users, users.c.id == invites.c.created_by))
        .where(*_pending(tenant_id))
    )
    return await newest_first(
        session,
        query,
        (invites.c.created_at, invites.c.id),
        _invite,
        limit=limit,
        cursor=cursor,
    )


async def revoke_invite(session: AsyncSession, tenant_id: str, invite_id: str) -> bool:
    """Withdraw a pending invite of the tenant; False if there is none with that id."""
    result = await session.execute(
        update(invites)
        .where(invites.c.id == invite_id, *_pending(tenant_id))
        .values(revoked_at=func.now())
        .returning(invites.c.id)
    )
    return result.first() is not None


async def settings(session: AsyncSession, tenant_id: str) -> StoredSettings | None:
    t = tenant_settings
    row = (
        await session.execute(
            select(
                t.c.billing_email,
                t.c.contacts,
                t.c.webhook_url,
                t.c.webhook_events,
                t.c.flags,
                t.c.updated_at,
            ).where(t.c.tenant_id == tenant_id)
        )
    ).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["contacts"] = list(values["contacts"])
    values["webhook_events"] = list(values["webhook_events"])
    values["flags"] = dict(values["flags"])
    return StoredSettings(**values)


async def save_settings(
    session: AsyncSession, tenant_id: str, *, updated_by: str, **values: Any
) -> None:
    """Replace the tenant's settings with ``values``."""
    row = {**values, "updated_by": updated_by, "updated_at": func.now()}
    await session.execute(
        pg_insert(tenant_settings)
        .values(tenant_id=tenant_id, **row)
        .on_conflict_do_update(index_elements=[tenant_settings.c.tenant_id], set_=row)
    )
