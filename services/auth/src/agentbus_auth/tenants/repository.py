"""All SQL on tenants, memberships and invites. Every membership query takes the tenant id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import (
    UserStatus,
    invites,
    memberships,
    platform_operators,
    tenants,
    users,
)
from agentbus_auth.tenants.slugs import new_tenant_slug
from agentbus_shared.contracts.auth import TenantStatus
from agentbus_shared.contracts.billing import SubscriptionStatus
from agentbus_shared.contracts.common import Role
from agentbus_shared.pagination import past_key


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    slug: str
    plan: str
    status: TenantStatus
    created_at: datetime


@dataclass(frozen=True)
class Member:
    """A membership seen with its user: what tokens and member lists are made of."""

    tenant_id: str
    tenant_name: str
    tenant_status: TenantStatus
    user_id: str
    email: str
    display_name: str | None
    status: UserStatus
    email_verified: bool
    role: Role
    joined_at: datetime
    platform_operator: bool


@dataclass(frozen=True)
class Invite:
    id: str
    tenant_id: str
    email: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class InviteCounts:
    """A tenant's invites against its caps."""

    sent_today: int
    oldest_today: datetime | None
    """When the oldest invite of the last 24 hours was sent (the day's count drops after it)."""
    pending: int
    next_expiry: datetime | None
    """When the first of the pending invites expires."""


TENANT_COLUMNS = (
    tenants.c.id,
    tenants.c.name,
    tenants.c.slug,
    tenants.c.plan,
    tenants.c.status,
    tenants.c.created_at,
)


async def add_tenant(session: AsyncSession, *, tenant_id: str, name: str) -> Tenant:
    row = (
        await session.execute(
            insert(tenants)
            .values(id=tenant_id, name=name, slug=new_tenant_slug(name, tenant_id))
            .returning(*TENANT_COLUMNS)
        )
    ).one()
    return Tenant(**row._mapping)


async def tenant(
    session: AsyncSession, tenant_id: str, *, for_update: bool = False
) -> Tenant | None:
    query = select(*TENANT_COLUMNS).where(tenants.c.id == tenant_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return Tenant(**row._mapping) if row else None


async def apply_plan(
    session: AsyncSession,
    tenant_id: str,
    *,
    plan: str,
    status: SubscriptionStatus,
    changed_at: datetime,
) -> bool:
    """Record the tenant's plan unless a newer plan event was applied already (out-of-order safe)."""
    result = await session.execute(
        update(tenants)
        .where(
            tenants.c.id == tenant_id,
            or_(tenants.c.plan_changed_at.is_(None), tenants.c.plan_changed_at <= changed_at),
        )
        .values(plan=plan, plan_status=status, plan_changed_at=changed_at)
        .returning(tenants.c.id)
    )
    return result.first() is not None


def _member_query() -> Select[Any]:
    return select(
        memberships.c.tenant_id,
        tenants.c.name.label("tenant_name"),
        tenants.c.status.label("tenant_status"),
        memberships.c.user_id,
        users.c.email,
        users.c.display_name,
        users.c.status,
        users.c.email_verified_at.is_not(None).label("email_verified"),
        memberships.c.role,
        memberships.c.joined_at,
        platform_operators.c.user_id.is_not(None).label("platform_operator"),
    ).select_from(
        memberships.join(users, users.c.id == memberships.c.user_id)
        .join(tenants, tenants.c.id == memberships.c.tenant_id)
        .outerjoin(platform_operators, platform_operators.c.user_id == memberships.c.user_id)
    )


def _member(row: Row[Any]) -> Member:
    values = dict(row._mapping)
    values["role"] = Role(values["role"])
    return Member(**values)


async def member(
    session: AsyncSession, tenant_id: str, user_id: str, *, for_update: bool = False
) -> Member | None:
    query = _member_query().where(
        memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
    )
    if for_update:
        query = query.with_for_update(of=memberships)
    row = (await session.execute(query)).first()
    return _member(row) if row else None


async def first_membership(session: AsyncSession, user_id: str) -> Member | None:
    """The tenant a user logs in to by default: the first one joined that is active (a
    suspended one only when the user belongs to no other)."""
    row = (
        await session.execute(
            _member_query()
            .where(memberships.c.user_id == user_id)
            .order_by(
                tenants.c.status != "active", memberships.c.joined_at, memberships.c.tenant_id
            )
            .limit(1)
        )
    ).first()
    return _member(row) if row else None


async def memberships_of(session: AsyncSession, user_id: str) -> list[Member]:
    """Every tenant the user belongs to, in the order joined."""
    query = (
        _member_query()
        .where(memberships.c.user_id == user_id)
        .order_by(memberships.c.joined_at, memberships.c.tenant_id)
    )
    return [_member(row) for row in await session.execute(query)]


async def members(
    session: AsyncSession, tenant_id: str, *, limit: int, after: tuple[datetime, str] | None
) -> list[Member]:
    query = (
        _member_query()
        .where(memberships.c.tenant_id == tenant_id)
        .order_by(memberships.c.joined_at, memberships.c.user_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            past_key((memberships.c.joined_at, memberships.c.user_id), after, descending=False)
        )
    return [_member(r) for r in (await session.execute(query)).all()]


async def add_member(session: AsyncSession, tenant_id: str, user_id: str, role: Role) -> bool:
    """False when the user is a member already."""
    result = await session.execute(
        pg_insert(memberships)
        .values(tenant_id=tenant_id, user_id=user_id, role=role.value)
        .on_conflict_do_nothing()
        .returning(memberships.c.user_id)
    )
    return result.first() is not None


async def set_role(session: AsyncSession, tenant_id: str, user_id: str, role: Role) -> None:
    await session.execute(
        update(memberships)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        .values(role=role.value)
    )


async def remove_member(session: AsyncSession, tenant_id: str, user_id: str) -> None:
    await session.execute(
        delete(memberships).where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
        )
    )


async def left_without_active_owner(
    session: AsyncSession, tenant_ids: list[str], leaving: str
) -> list[str]:
    """Those of ``tenant_ids`` where no active owner but ``leaving`` would remain (a disabled
    owner cannot manage the tenant). The one rule for demoting, removing and disabling an owner;
    callers lock the tenant rows first so two owners leaving at once cannot both pass."""
    if not tenant_ids:
        return []
    others = (
        select(memberships.c.tenant_id)
        .join(users, users.c.id == memberships.c.user_id)
        .where(
            memberships.c.tenant_id.in_(tenant_ids),
            memberships.c.user_id != leaving,
            memberships.c.role == Role.OWNER.value,
            users.c.status == "active",
        )
    )
    with_other_owner = set(await session.scalars(others))
    return [t for t in tenant_ids if t not in with_other_owner]


async def add_invite(
    session: AsyncSession,
    *,
    invite_id: str,
    tenant_id: str,
    email: str,
    role: Role,
    token_hash: bytes,
    created_by: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(invites).values(
            id=invite_id,
            tenant_id=tenant_id,
            email=email,
            email_normalized=email.strip().lower(),
            role=role.value,
            token_hash=token_hash,
            created_by=created_by,
            expires_at=expires_at,
        )
    )


def pending_invite() -> ColumnElement[bool]:
    """An invite still waiting for an answer: neither accepted, revoked nor expired."""
    return and_(
        invites.c.accepted_at.is_(None),
        invites.c.revoked_at.is_(None),
        invites.c.expires_at > func.now(),
    )


async def invite_counts(session: AsyncSession, tenant_id: str) -> InviteCounts:
    today = invites.c.created_at > func.now() - text("interval '1 day'")
    pending = pending_invite()
    row = (
        await session.execute(
            select(
                func.count().filter(today).label("sent_today"),
                func.min(invites.c.created_at).filter(today).label("oldest_today"),
                func.count().filter(pending).label("pending"),
                func.min(invites.c.expires_at).filter(pending).label("next_expiry"),
            ).where(invites.c.tenant_id == tenant_id)
        )
    ).one()
    return InviteCounts(**row._mapping)


async def open_invite(session: AsyncSession, token_hash: bytes) -> Invite | None:
    row = (
        await session.execute(
            select(
                invites.c.id,
                invites.c.tenant_id,
                invites.c.email,
                invites.c.role,
                invites.c.expires_at,
            ).where(
                invites.c.token_hash == token_hash,
                pending_invite(),
            )
        )
    ).first()
    if row is None:
        return None
    return Invite(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        role=Role(row.role),
        expires_at=row.expires_at,
    )


async def claim_invite(session: AsyncSession, invite_id: str, user_id: str) -> bool:
    """Mark the invite used, once: False if it was used or expired meanwhile."""
    result = await session.execute(
        update(invites)
        .where(invites.c.id == invite_id, pending_invite())
        .values(accepted_at=func.now(), accepted_by=user_id)
        .returning(invites.c.id)
    )
    return result.first() is not None
