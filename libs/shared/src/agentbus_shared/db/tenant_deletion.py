"""A service's part of deprovisioning a tenant: its rows of the tenant are deleted once per
request and ``tenant.data_deleted`` is announced through its outbox, in one transaction.

Each data-holding service builds one ``TenantDataDeletion`` with its own answer class and its
own deletion (SQL on its own schema only) and hands it the ``tenant.deprovision_requested`` its
durable consumer receives. The answer's event id is the same for every request of one tenant,
so a repeated request deletes what is left and JetStream keeps one answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.contracts.platform import TenantDataDeletedBase, TenantDeprovisionRequested
from agentbus_shared.db.database import Database
from agentbus_shared.db.idempotency import record_once
from agentbus_shared.db.outbox import Outbox
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

DeleteTenantRows = Callable[[AsyncSession, str], Awaitable[int]]
"""Deletes a tenant's rows in the caller's transaction and says how many went."""


async def delete_tenant_rows(session: AsyncSession, tables: Iterable[Table], tenant_id: str) -> int:
    """Delete ``tenant_id``'s rows from each table (in order; each has a ``tenant_id`` column)."""
    deleted = 0
    for table in tables:
        result = await session.execute(delete(table).where(table.c.tenant_id == tenant_id))
        deleted += result.rowcount  # type: ignore[attr-defined]
    return deleted


class TenantDataDeletion:
    def __init__(
        self,
        db: Database,
        *,
        outbox: Outbox,
        processed_events: Table,
        answer: type[TenantDataDeletedBase],
        delete_rows: DeleteTenantRows,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._processed_events = processed_events
        self._answer = answer
        self._delete_rows = delete_rows

    async def delete(self, event: CloudEvent[TenantDeprovisionRequested], *, consumer: str) -> None:
        """Delete the tenant's rows once per request (skipped when the request names other
        parts only) and answer ``tenant.data_deleted`` with the number of rows."""
        request = event.data
        service = self._answer.service
        if service not in request.parts:
            return
        async with self._db.transaction() as session:
            if not await record_once(
                session, self._processed_events, consumer=consumer, event_id=event.id
            ):
                return
            rows = await self._delete_rows(session, request.tenant_id)
            answer = self._answer(
                tenant_id=request.tenant_id, deleted_at=datetime.now(UTC), rows_deleted=rows
            )
            await self._outbox.emit(
                session,
                make_event(
                    answer,
                    tenant_id=request.tenant_id,
                    event_id=f"evt_gone_{service}_{request.tenant_id}",
                ),
            )
        log.info("tenant.data_deleted", tenant_id=request.tenant_id, rows_deleted=rows)
