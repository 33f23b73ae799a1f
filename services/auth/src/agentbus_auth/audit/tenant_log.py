"""The tenant's audit log, as its owners and admins read it: its security events, newest first.

Which entries belong to the tenant is the repository's (``tenant_repository``): entries of
other tenants, and a member's history from before they joined, never appear. Locations come
from the IP, read time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from agentbus_auth.audit import tenant_repository as repo
from agentbus_auth.audit.locations import Locations, Place
from agentbus_auth.tenants.membership import MANAGERS, acting_member
from agentbus_shared.contracts.common import Page, Principal
from agentbus_shared.contracts.tenant_admin import AuditEntryView, AuditQuery
from agentbus_shared.db import Database
from agentbus_shared.pagination import cut_page


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
            rows = await repo.tenant_entries(session, principal.tenant_id, filters)
        kept, next_cursor = cut_page(rows, filters.limit, lambda row: (row.occurred_at, row.id))
        places = await self._locations.places(row.ip for row in kept)
        items = [_entry(row, places.get(row.ip or "")) for row in kept]
        return Page[AuditEntryView](items=items, next_cursor=next_cursor)
