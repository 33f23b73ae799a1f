"""Reading a tenant's audit log from the trail: which entries belong to the tenant, and who acted.

An entry belongs to a tenant when it carries the tenant's id, or when it carries no tenant,
is of a kind about the account's own security (a login failure, a password change, an
operator's support action) and was recorded about a member since they joined. Who acted, from
which IP and browser, is read only when the actor is a member of the tenant (or no one acted
but the user).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import audit_events, memberships, users
from agentbus_shared.contracts.tenant_admin import AuditQuery
from agentbus_shared.pagination import decode_cursor, past_key

_actor = aliased(users, name="actor")
_target = aliased(users, name="target")
_actor_membership = aliased(memberships, name="actor_membership")

ACCOUNT_SECURITY_KINDS = frozenset(
    {
        AuditKind.LOGIN_FAILED,
        AuditKind.ACCOUNT_LOCKED,
        AuditKind.PASSWORD_CHANGED,
        AuditKind.PASSWORD_RESET_REQUESTED,
        AuditKind.PASSWORD_RESET,
        AuditKind.MFA_ENABLED,
        AuditKind.MFA_DISABLED,
        AuditKind.MFA_REMOVED_BY_OPERATOR,
        AuditKind.RECOVERY_CODE_USED,
        AuditKind.RECOVERY_CODES_REGENERATED,
        AuditKind.EMAIL_CHANGED,
        AuditKind.SSO_LINKED,
        AuditKind.SSO_UNLINKED,
        AuditKind.ACCOUNT_DISABLED,
        AuditKind.SUPPORT_PASSWORD_RESET,
    }
)
"""The kinds of tenant-less entries a member's tenants see (from when they joined on)."""


def _of_tenant(tenant_id: str) -> Any:
    a = audit_events
    member_then = exists().where(
        memberships.c.tenant_id == tenant_id,
        memberships.c.user_id == a.c.user_id,
        memberships.c.joined_at <= a.c.occurred_at,
    )
    return or_(
        a.c.tenant_id == tenant_id,
        and_(
            a.c.tenant_id.is_(None),
            a.c.kind.in_(sorted(ACCOUNT_SECURITY_KINDS)),
            member_then,
        ),
    )


def _shown_if_actor_is_member(column: Any, label: str) -> Any:
    """``column``, or nothing when someone outside the tenant acted (an operator, say)."""
    outsider = and_(audit_events.c.actor_id.is_not(None), _actor_membership.c.user_id.is_(None))
    return case((outsider, literal(None)), else_=column).label(label)


def _query(tenant_id: str, filters: AuditQuery) -> Select[Any]:
    a = audit_events
    query = (
        select(
            a.c.id,
            a.c.kind,
            a.c.occurred_at,
            a.c.actor_id,
            _shown_if_actor_is_member(_actor.c.email, "actor_email"),
            a.c.user_id,
            _target.c.email.label("user_email"),
            _shown_if_actor_is_member(a.c.ip, "ip"),
            _shown_if_actor_is_member(a.c.user_agent, "user_agent"),
            a.c.details,
        )
        .select_from(
            a.outerjoin(_actor, _actor.c.id == a.c.actor_id)
            .outerjoin(_target, _target.c.id == a.c.user_id)
            .outerjoin(
                _actor_membership,
                and_(
                    _actor_membership.c.user_id == a.c.actor_id,
                    _actor_membership.c.tenant_id == tenant_id,
                ),
            )
        )
        .where(_of_tenant(tenant_id))
    )
    if filters.kind:
        query = query.where(a.c.kind == filters.kind)
    if filters.user_id:
        query = query.where(a.c.user_id == filters.user_id)
    if filters.cursor:
        key = decode_cursor(filters.cursor, datetime, int)
        query = query.where(past_key((a.c.occurred_at, a.c.id), key, descending=True))
    return query.order_by(a.c.occurred_at.desc(), a.c.id.desc()).limit(filters.limit + 1)


async def tenant_entries(
    session: AsyncSession, tenant_id: str, filters: AuditQuery
) -> list[Row[Any]]:
    """The tenant's entries of one page, newest first, and one more when a next page exists."""
    return list((await session.execute(_query(tenant_id, filters))).all())
