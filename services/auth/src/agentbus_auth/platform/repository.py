"""All SQL of the operators' tenant lifecycle: the platform-wide list of tenants, one tenant's
page, its status changes and its deprovisioning parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import invites, memberships, tenant_data_parts, tenants, users
from agentbus_auth.tenants.repository import pending_invite
from agentbus_shared.contracts.auth import TenantStatus
from agentbus_shared.contracts.common import Role
from agentbus_shared.pagination import newest_first

OWNER = Role.OWNER.value


@dataclass(frozen=True)
class TenantRow:
    """A tenant as operators see it; ``owner_email`` is its first owner's, or the email an
    owner invite waits for while it has none."""

    id: str
    name: str
    slug: str
    plan: str
    status: TenantStatus
    owner_email: str | None
    created_at: datetime
    suspended_at: datetime | None
    suspension_reason: str | None
    deprovision_requested_at: datetime | None
    deleted_at: datetime | None


@dataclass(frozen=True)
class DataPartRow:
    service: str
    deleted_at: datetime | None


def _owner_email() -> ColumnElement[Any]:
    first_owner = (
        select(users.c.email)
        .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
        .where(memberships.c.tenant_id == tenants.c.id, memberships.c.role == OWNER)
        .order_by(memberships.c.joined_at, memberships.c.user_id)
        .limit(1)
        .scalar_subquery()
    )
    invited_owner = (
        select(invites.c.email)
        .where(invites.c.tenant_id == tenants.c.id, invites.c.role == OWNER, pending_invite())
        .order_by(invites.c.created_at)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(first_owner, invited_owner)


def _tenant_query() -> Select[Any]:
    return select(
        tenants.c.id,
        tenants.c.name,
        tenants.c.slug,
        tenants.c.plan,
        tenants.c.status,
        _owner_email().label("owner_email"),
        tenants.c.created_at,
        tenants.c.suspended_at,
        tenants.c.suspension_reason,
        tenants.c.deprovision_requested_at,
        tenants.c.deleted_at,
    )


def _tenant(row: Row[Any]) -> TenantRow:
    return TenantRow(**row._mapping)


def _like(q: str) -> str:
    escaped = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(q: str) -> ColumnElement[bool]:
    """Tenants whose name or slug holds ``q``, or one of whose owners' (or invited owners')
    email does."""
    pattern = _like(q)
    owner_matches = exists().where(
        memberships.c.tenant_id == tenants.c.id,
        memberships.c.role == OWNER,
        users.c.id == memberships.c.user_id,
        users.c.email_normalized.like(pattern, escape="\\"),
    )
    invited_matches = exists().where(
        invites.c.tenant_id == tenants.c.id,
        invites.c.role == OWNER,
        invites.c.email_normalized.like(pattern, escape="\\"),
        pending_invite(),
    )
    return or_(
        tenants.c.name.ilike(pattern, escape="\\"),
        tenants.c.slug.like(pattern, escape="\\"),
        owner_matches,
        invited_matches,
    )


async def tenants_page(
    session: AsyncSession,
    *,
    q: str | None,
    status: TenantStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TenantRow], str | None]:
    """Tenants newest first, matching ``q`` and ``status`` when given."""
    query = _tenant_query()
    if q and q.strip():
        query = query.where(_matching(q))
    if status is not None:
        query = query.where(tenants.c.status == status)
    order = (tenants.c.created_at, tenants.c.id)
    return await newest_first(session, query, order, _tenant, limit=limit, cursor=cursor)


async def tenant(
    session: AsyncSession, tenant_id: str, *, for_update: bool = False
) -> TenantRow | None:
    query = _tenant_query().where(tenants.c.id == tenant_id)
    if for_update:
        query = query.with_for_update(of=tenants)
    row = (await session.execute(query)).first()
    return _tenant(row) if row else None


async def members_count(session: AsyncSession, tenant_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(memberships).where(memberships.c.tenant_id == tenant_id)
    )
    return int(count or 0)


async def data_parts(session: AsyncSession, tenant_id: str) -> list[DataPartRow]:
    """Each service's part of the tenant's deprovisioning (none before it started)."""
    rows = await session.execute(
        select(tenant_data_parts.c.service, tenant_data_parts.c.deleted_at)
        .where(tenant_data_parts.c.tenant_id == tenant_id)
        .order_by(tenant_data_parts.c.service)
    )
    return [DataPartRow(**row._mapping) for row in rows]


async def suspend(
    session: AsyncSession, tenant_id: str, *, by: str, reason: str, at: datetime
) -> None:
    await session.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(status="suspended", suspended_at=at, suspended_by=by, suspension_reason=reason)
    )


async def reactivate(session: AsyncSession, tenant_id: str) -> None:
    await session.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(status="active", suspended_at=None, suspended_by=None, suspension_reason=None)
    )
