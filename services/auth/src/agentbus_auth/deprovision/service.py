"""The deprovisioning saga in auth: an operator's request, auth's own part of the deletion, and
the answers of every service until the tenant is gone.

The request marks the tenant ``deprovisioning`` (refused everywhere, as if suspended), records
one pending part per service of ``DATA_PARTS`` and announces ``tenant.deprovision_requested``,
all in one transaction. Each service answers ``tenant.data_deleted`` once its part is gone; the
last answer marks the tenant ``deleted`` and announces ``tenant.deprovisioned``. Every step is
applied once per event, so redeliveries and repeated requests change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.deprovision import repository as repo
from agentbus_auth.errors import TenantNotFound
from agentbus_auth.models import outbox, processed_events
from agentbus_auth.platform.service import LIFECYCLE_CLOSED
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.contracts.platform import (
    DATA_PARTS,
    AuthTenantDataDeleted,
    TenantDataDeletedBase,
    TenantDeprovisioned,
    TenantDeprovisionRequested,
)
from agentbus_shared.db import Database, record_once
from agentbus_shared.db.tenant_deletion import TenantDataDeletion
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class TenantDeprovisioning:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._deletion = TenantDataDeletion(
            db,
            outbox=outbox,
            processed_events=processed_events,
            answer=AuthTenantDataDeleted,
            delete_rows=repo.delete_tenant_data,
        )

    async def request(self, tenant_id: str, *, operator_id: str, meta: RequestMeta) -> None:
        """Start deprovisioning ``tenant_id``; a tenant already on its way out stays as it is.

        Raises ``TenantNotFound`` for an unknown tenant.
        """
        async with self._db.transaction() as session:
            tenant = await repo.lifecycle_for_update(session, tenant_id)
            if tenant is None:
                raise TenantNotFound()
            if tenant.status in LIFECYCLE_CLOSED:
                return
            now = datetime.now(UTC)
            await repo.start(session, tenant_id, parts=DATA_PARTS, at=now)
            await record(
                session,
                AuditKind.TENANT_DEPROVISION_REQUESTED,
                actor_id=operator_id,
                meta=meta,
                deprovisioned_tenant=tenant_id,
            )
            requested = TenantDeprovisionRequested(
                tenant_id=tenant_id, requested_by=operator_id, requested_at=now
            )
            await outbox.emit(
                session,
                make_event(requested, tenant_id=tenant_id, event_id=f"evt_deprov_{tenant_id}"),
            )
        log.info("tenant.deprovision_requested", tenant_id=tenant_id, operator_id=operator_id)

    async def delete_data(
        self, event: CloudEvent[TenantDeprovisionRequested], *, consumer: str
    ) -> None:
        """Auth's own part: delete the tenant's data in schema ``auth`` and answer for it."""
        await self._deletion.delete(event, consumer=consumer)

    async def record_part(
        self, event_id: str, part: TenantDataDeletedBase, *, consumer: str
    ) -> None:
        """Mark one service's part deleted; once every part is, the tenant is deleted."""
        tenant_id = part.tenant_id
        async with self._db.transaction() as session:
            if not await record_once(
                session, processed_events, consumer=consumer, event_id=event_id
            ):
                return
            tenant = await repo.lifecycle_for_update(session, tenant_id)
            if tenant is None or tenant.status != "deprovisioning":
                log.warning("tenant.part_unexpected", tenant_id=tenant_id, service=part.service)
                return
            await repo.mark_part_deleted(
                session, tenant_id, part.service, at=part.deleted_at, rows_deleted=part.rows_deleted
            )
            if await repo.pending_parts(session, tenant_id):
                return
            await _complete(session, tenant_id)
        log.info("tenant.deprovisioned", tenant_id=tenant_id)


async def _complete(session: AsyncSession, tenant_id: str) -> None:
    """Every part answered: the tenant is deleted and ``tenant.deprovisioned`` announced."""
    now = datetime.now(UTC)
    await repo.finish(session, tenant_id, at=now)
    deprovisioned = TenantDeprovisioned(tenant_id=tenant_id, deleted_at=now)
    await outbox.emit(
        session,
        make_event(deprovisioned, tenant_id=tenant_id, event_id=f"evt_deprovisioned_{tenant_id}"),
    )
