"""All SQL of deprovisioning in auth: the tenant's lifecycle, each service's part of the deletion,
and the deletion of the tenant's data in schema ``auth``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, and_, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import (
    audit_events,
    invites,
    memberships,
    mfa_challenges,
    platform_operators,
    service_accounts,
    sessions,
    signup_invites,
    signup_requests,
    tenant_data_parts,
    tenant_settings,
    tenants,
    users,
)
from agentbus_shared.contracts.platform import TenantStatus

DELETED_NAME = "Deleted tenant"
"""What a deleted tenant's tombstone is called instead of its name."""


@dataclass(frozen=True)
class LockedTenant:
    id: str
    status: TenantStatus


async def lifecycle_for_update(session: AsyncSession, tenant_id: str) -> LockedTenant | None:
    """The tenant's status, its row held until the transaction ends (parts answer concurrently)."""
    query = select(tenants.c.id, tenants.c.status).where(tenants.c.id == tenant_id)
    row = (await session.execute(query.with_for_update())).first()
    return None if row is None else LockedTenant(id=row.id, status=row.status)


async def start(
    session: AsyncSession, tenant_id: str, *, parts: Iterable[str], at: datetime
) -> None:
    """Mark the tenant deprovisioning with one pending part per service."""
    await session.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(status="deprovisioning", deprovision_requested_at=at)
    )
    await session.execute(
        insert(tenant_data_parts)
        .values([{"tenant_id": tenant_id, "service": service} for service in parts])
        .on_conflict_do_nothing()
    )


async def mark_part_deleted(
    session: AsyncSession, tenant_id: str, service: str, *, at: datetime, rows_deleted: int
) -> None:
    """Record that ``service`` deleted its part (a part already deleted keeps its record)."""
    parts = tenant_data_parts
    await session.execute(
        update(parts)
        .where(
            parts.c.tenant_id == tenant_id,
            parts.c.service == service,
            parts.c.deleted_at.is_(None),
        )
        .values(deleted_at=at, rows_deleted=rows_deleted)
    )


async def pending_parts(session: AsyncSession, tenant_id: str) -> list[str]:
    """The services that have not yet reported their part of the tenant deleted."""
    parts = tenant_data_parts
    query = (
        select(parts.c.service)
        .where(parts.c.tenant_id == tenant_id, parts.c.deleted_at.is_(None))
        .order_by(parts.c.service)
    )
    return list((await session.scalars(query)).all())


async def finish(session: AsyncSession, tenant_id: str, *, at: datetime) -> None:
    await session.execute(
        update(tenants).where(tenants.c.id == tenant_id).values(status="deleted", deleted_at=at)
    )


# ---------------------------------------------------------------- auth's own part of the data
async def delete_tenant_data(session: AsyncSession, tenant_id: str) -> int:
    """Delete everything of the tenant in schema ``auth``; return how many rows went.

    The accounts whose only membership was this tenant go too (with their profiles, factors,
    identities and sign-up records), except platform operators' accounts. The tenant row stays
    as a tombstone without its name, slug or suspension reason.
    """
    sole = await _sole_members(session, tenant_id)
    emails = select(users.c.email_normalized).where(users.c.id.in_(sole))
    statements: list[Delete] = [
        delete(signup_requests).where(signup_requests.c.email_normalized.in_(emails)),
        delete(signup_invites).where(signup_invites.c.used_by.in_(sole)),
        delete(sessions).where(sessions.c.tenant_id == tenant_id),
        delete(mfa_challenges).where(mfa_challenges.c.tenant_id == tenant_id),
        delete(invites).where(invites.c.tenant_id == tenant_id),
        delete(service_accounts).where(service_accounts.c.tenant_id == tenant_id),
        delete(tenant_settings).where(tenant_settings.c.tenant_id == tenant_id),
        delete(audit_events).where(
            (audit_events.c.tenant_id == tenant_id) | audit_events.c.user_id.in_(sole)
        ),
        delete(memberships).where(memberships.c.tenant_id == tenant_id),
        delete(users).where(users.c.id.in_(sole)),
    ]
    deleted = 0
    for statement in statements:
        deleted += (await session.execute(statement)).rowcount  # type: ignore[attr-defined]
    await _scrub_tombstone(session, tenant_id)
    return deleted


async def _sole_members(session: AsyncSession, tenant_id: str) -> list[str]:
    """Members of the tenant with no other membership, who are not platform operators."""
    other = memberships.alias("other")
    query = select(memberships.c.user_id).where(
        memberships.c.tenant_id == tenant_id,
        ~exists().where(
            and_(other.c.user_id == memberships.c.user_id, other.c.tenant_id != tenant_id)
        ),
        ~exists().where(platform_operators.c.user_id == memberships.c.user_id),
    )
    return list((await session.scalars(query)).all())


async def _scrub_tombstone(session: AsyncSession, tenant_id: str) -> None:
    await session.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(
            name=DELETED_NAME,
            slug=func.concat("deleted-", tenants.c.id),
            suspension_reason=None,
        )
    )
