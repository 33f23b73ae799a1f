"""Computes a tenant's entitlements and writes them to KV (key = tenant id).

A change marks the tenant in ``entitlements_pending`` in the same transaction
as the change; the mark itself has the tenant published once that transaction
commits, and a background loop publishes whatever is still marked (after a
crash, or a KV outage), so the bucket always catches up with the database. Replicas write a
tenant one at a time (a PostgreSQL advisory lock), so an older read never lands last.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from nats.js.kv import KeyValue
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.entitlements import repository as pending
from agentbus_billing.features import repository as feature_overrides
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.models import outbox
from agentbus_billing.periods import period_at
from agentbus_billing.plans.catalog import Catalog
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_billing.usage import repository as usage
from agentbus_shared.contracts.billing import Entitlements, EntitlementsUpdated, SubscriptionStatus
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.features import effective_features
from agentbus_shared.db import Database, after_commit
from agentbus_shared.errors import Forbidden
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

PASS_SIZE = 500
ENTITLED_STATUSES: frozenset[SubscriptionStatus] = frozenset({"active", "trialing"})


class EntitlementsService:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        bucket: Callable[[], Awaitable[KeyValue]],
        *,
        sync_interval: float = 5.0,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._bucket = bucket
        self._sync_interval = sync_interval
        self._wakeup = asyncio.Event()

    async def mark(self, session: AsyncSession, tenant_id: str) -> None:
        """Note, in the caller's transaction, that ``tenant_id``'s entitlements changed.

        Once that transaction commits, the publishing loop publishes it at once (a burst of
        changes for one tenant becomes one write); the mark stays until a write covers it.
        """
        await pending.mark(session, tenant_id)
        after_commit(session, self._wake)

    async def changed(self, session: AsyncSession, tenant_id: str) -> Entitlements:
        """Announce, in the caller's transaction, that the tenant's plan, status or features
        changed: ``entitlements.updated`` through the outbox, and the KV entry once committed."""
        entitlements = await self.compute(session, tenant_id)
        await outbox.emit(
            session, make_event(EntitlementsUpdated(entitlements=entitlements), tenant_id=tenant_id)
        )
        await self.mark(session, tenant_id)
        return entitlements

    async def _wake(self) -> None:
        self._wakeup.set()

    async def compute(
        self, session: AsyncSession, tenant_id: str, *, now: datetime | None = None
    ) -> Entitlements:
        """Plan limits, usage so far and period; past-due or canceled tenants get the free limits.
        Features are the plan's with the tenant's overrides applied."""
        now = now or datetime.now(UTC)
        row = await subscriptions.of_tenant(session, tenant_id)
        default = self._catalog.default
        status: SubscriptionStatus = "active"
        if row is None:
            plan, start, end = default, None, None
        else:
            state = row.state
            known = self._catalog.find(state.plan)
            entitled = state.status in ENTITLED_STATUSES and known is not None
            plan = known if entitled and known is not None else default
            status, start, end = state.status, state.current_period_start, state.current_period_end
        period = period_at(now, start, end)
        used = await usage.used(session, tenant_id, period.start)
        overrides = await feature_overrides.of_tenant(session, tenant_id)
        return Entitlements(
            tenant_id=tenant_id,
            plan=plan.code,
            status=status,
            limits=plan.limits,
            used={"messages": used.get("messages", 0), "tokens": used.get("tokens", 0)},
            period_start=period.start,
            period_end=period.end,
            features=effective_features(plan.features, overrides),
            updated_at=now,
        )

    async def publish(self, tenant_ids: Iterable[str], *, only_marked: bool = False) -> None:
        """Write the current entitlements of each tenant to KV; failures stay marked for the loop.

        ``only_marked`` leaves a tenant no longer marked (written meanwhile, or deleted since):
        how a change is written at once, before its answer, rather than when the loop wakes."""
        for tenant_id in dict.fromkeys(tenant_ids):
            try:
                await self._publish_one(tenant_id, only_marked=only_marked)
            except Exception as exc:
                log.warning("entitlements.publish_failed", tenant_id=tenant_id, error=repr(exc))

    async def _publish_one(self, tenant_id: str, *, only_marked: bool) -> None:
        # One writer per tenant at a time across every replica (an in-process lock let two
        # replicas interleave: the older read landed last and its stale write stayed, unmarked),
        # each reading after taking the lock: the last write is the newest.
        async with self._db.transaction() as session:
            await lock_for_transaction(session, f"entitlements:{tenant_id}")
            marked_at = await pending.marked_at(session, tenant_id)
            if marked_at is None and only_marked:
                return
            entitlements = await self.compute(session, tenant_id)
            bucket = await self._bucket()
            await bucket.put(tenant_id, entitlements.model_dump_json().encode())
            if marked_at is not None:
                # A change marked after our read has a newer mark and stays for the next pass.
                await pending.clear_mark(session, tenant_id, marked_at)

    async def publish_pending(self, limit: int = PASS_SIZE) -> int:
        """Publish up to ``limit`` marked tenants; return how many were marked."""
        async with self._db.session() as session:
            tenants = await pending.marked_tenants(session, limit)
        await self.publish(tenants)
        return len(tenants)

    async def run(self) -> None:
        """Publish marked tenants when woken by a commit, else every ``sync_interval`` seconds."""
        while True:
            self._wakeup.clear()
            if await self.publish_pending() >= PASS_SIZE:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._sync_interval)

    async def get(self, tenant_id: str) -> Entitlements:
        async with self._db.session() as session:
            return await self.compute(session, tenant_id)

    async def get_for(self, caller: Principal | None, tenant_id: str) -> Entitlements:
        """What ``tenant_id`` may use, as ``caller`` may see it: a member reads its own tenant's,
        an operator any; a service on the bus (no caller) any. ``Forbidden`` otherwise."""
        if (
            caller is not None
            and caller.tenant_id != tenant_id
            and not caller.has(Scope.PLATFORM_OPERATE)
        ):
            raise Forbidden("Entitlements of another tenant are not yours to read.")
        return await self.get(tenant_id)
