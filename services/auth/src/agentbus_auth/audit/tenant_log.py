"""The tenant's audit log, as its owners and admins read it: its security events, newest first.

An entry belongs to a tenant when it carries the tenant's id, or when it carries no tenant,
is of a kind about the account's own security (a login failure, a password change, an
operator's support action) and was recorded about a member since they joined. Entries of
other tenants, and a member's history from before they joined, never appear. Who acted, from
which IP and browser, is shown only when the actor is a member of the tenant (or no one
acted but the user). Locations come from the IP, read time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, exists, literal, or_, select
from sqlalchemy.orm import aliased

from agentbus_auth.audit.locations import Locations, Place
from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import audit_events, memberships, users
from agentbus_auth.tenants.membership import MANAGERS, acting_member
from agentbus_shared.contracts.common import Page, Principal
from agentbus_shared.contracts.tenant_admin import AuditEntryView, AuditQuery
from agentbus_shared.db import Database
from agentbus_shared.pagination import cut_page, decode_cursor, past_key

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


def _entry(row: Row[Any], place: Place | None) -> AuditEntryView:
    return AuditEntryView(
        id=str(row.id),
        kind=row.kind,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_email=row.actor_email,
        user_id=row.user_id,
        user_email=row.user_email,
        ip=row.ip,
        user_agent=row.user_agent,
        country=place.country if place else None,
        city=place.city if place else None,
        details=dict(row.details),
    )


class TenantAuditLog:
    def __init__(self, db: Database, locations: Locations) -> None:
        self._db = db
        self._locations = locations

    async def entries(self, principal: Principal, filters: AuditQuery) -> Page[AuditEntryView]:
        async with self._db.session() as session:
            await acting_member(
                session,
                principal,
                roles=MANAGERS,
                refusal="Only owners and admins read the tenant's audit log.",
            )
            rows = (await session.execute(_query(principal.tenant_id, filters))).all()
        kept, next_cursor = cut_page(rows, filters.limit, lambda row: (row.occurred_at, row.id))
        places = await self._locations.places(row.ip for row in kept)
        items = [_entry(row, places.get(row.ip or "")) for row in kept]
        return Page[AuditEntryView](items=items, next_cursor=next_cursor)
