"""A service's part of deprovisioning a tenant: its rows of the tenant are deleted once per
request and ``tenant.data_deleted`` is announced through its outbox, in one transaction.

Each data-holding service builds one ``TenantDataDeletion`` with its own answer class and its
own deletion (SQL on its own schema only) and hands it the ``tenant.deprovision_requested`` its
durable consumer receives. The answer's event id is the same for every request of one tenant,
so a repeated request deletes what is left and JetStream keeps one answer.

The deletion also marks the tenant deleted in the service's ``processed_events`` and holds the
tenant's data lock while it runs. A writer about to store something of a tenant (an event a
consumer applies late, a run finishing, a late Stripe event) asks ``tenant_data_deleted`` first
in its transaction and stores nothing when it says so; the lock orders the two, so the writer's
rows are either deleted with the rest or never written. The tenant's events the service's
outbox still keeps once published (their payloads hold the tenant's data) go too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.contracts.platform import (
    DATA_DELETED_EVENTS,
    TenantDataDeletedBase,
    TenantDeprovisioned,
    TenantDeprovisionRequested,
)
from agentbus_shared.db.database import Database
from agentbus_shared.db.idempotency import record_once
from agentbus_shared.db.outbox import Outbox
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

DELETED_TENANTS = "tenant-data-deleted"
"""The ``processed_events`` consumer under which a service marks each tenant it deleted."""

SAGA_EVENTS = tuple(
    event.event_type
    for event in (TenantDeprovisionRequested, DATA_DELETED_EVENTS[0], TenantDeprovisioned)
)
"""The saga's own events: they name the tenant by its id only, and an outbox keeps them (a
repeated request's answer is then the first one, kept once)."""

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"

DeleteTenantRows = Callable[[AsyncSession, str], Awaitable[int]]
"""Deletes a tenant's rows in the caller's transaction and says how many went."""


async def delete_tenant_rows(session: AsyncSession, tables: Iterable[Table], tenant_id: str) -> int:
    """Delete ``tenant_id``'s rows from each table (in order; each has a ``tenant_id`` column)."""
    deleted = 0
    for table in tables:
        result = await session.execute(delete(table).where(table.c.tenant_id == tenant_id))
        deleted += result.rowcount  # type: ignore[attr-defined]
    return deleted


def _data_lock_key(tenant_id: str) -> str:
    return f"tenant-data:{tenant_id}"


async def _lock_tenant_data(session: AsyncSession, tenant_id: str) -> None:
    """The tenant's data lock, exclusively: the deletion waits for every writer holding it
    shared (``tenants_data_deleted``), and they for the deletion."""
    await session.execute(text(_LOCK), {"key": _data_lock_key(tenant_id)})


async def tenant_data_deleted(
    session: AsyncSession, processed_events: Table, tenant_id: str
) -> bool:
    """Whether this service deleted ``tenant_id``'s data (nothing of it may be stored again).

    Ask first in the transaction that would store the tenant's rows: it holds the tenant's data
    lock shared until it ends, so a deletion waits for it, and it waits for a deletion running.
    """
    return tenant_id in await tenants_data_deleted(session, processed_events, [tenant_id])


_LOCK_MANY = (
    "SELECT count(pg_advisory_xact_lock_shared(hashtextextended(key, 0)))"
    " FROM (SELECT unnest(CAST(:keys AS text[])) AS key ORDER BY 1) AS keys"
)


async def tenants_data_deleted(
    session: AsyncSession, processed_events: Table, tenant_ids: Iterable[str]
) -> set[str]:
    """Which of ``tenant_ids`` this service deleted, in two statements whatever their number:
    each tenant's data lock is taken shared (in order, so two batches cannot deadlock) and held
    until the transaction ends, as ``tenant_data_deleted`` describes."""
    wanted = sorted(set(tenant_ids))
    if not wanted:
        return set()
    keys = [_data_lock_key(tenant_id) for tenant_id in wanted]
    await session.execute(text(_LOCK_MANY), {"keys": keys})
    query = select(processed_events.c.event_id).where(
        processed_events.c.consumer == DELETED_TENANTS,
        processed_events.c.event_id.in_(wanted),
    )
    return set((await session.execute(query)).scalars())


async def delete_published_events(session: AsyncSession, outbox: Table, tenant_id: str) -> int:
    """Delete the tenant's published events from ``outbox`` (the subject's third token names the
    tenant, ``events.<service>.<tenant>.<type>``) but the saga's own; the unpublished ones are
    still to be sent."""
    kind = func.regexp_replace(outbox.c.subject, "^([^.]*[.]){3}", "")
    result = await session.execute(
        delete(outbox).where(
            outbox.c.published_at.is_not(None),
            func.split_part(outbox.c.subject, ".", 3) == tenant_id,
            kind.not_in(SAGA_EVENTS),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
            await _lock_tenant_data(session, request.tenant_id)
            if not await record_once(
                session, self._processed_events, consumer=consumer, event_id=event.id
            ):
                return
            await record_once(
                session,
                self._processed_events,
                consumer=DELETED_TENANTS,
                event_id=request.tenant_id,
            )
            rows = await self._delete_rows(session, request.tenant_id)
            events = await delete_published_events(session, self._outbox.table, request.tenant_id)
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
        log.info(
            "tenant.data_deleted",
            tenant_id=request.tenant_id,
            rows_deleted=rows,
            events_deleted=events,
        )
