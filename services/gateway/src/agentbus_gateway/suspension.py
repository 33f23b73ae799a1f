"""Suspended tenants, shared by every gateway replica through Redis.

Auth publishes ``TenantSuspended`` and ``TenantReactivated`` when an operator suspends or
reactivates a tenant, and ``TenantDeprovisionRequested`` when one deprovisions it (refused like a
suspended tenant from then on, for good). Durable consumers (shared by the replicas) set and delete
``gateway:suspended-tenant:<id>``; the guard checks that key in the same Redis round trip as
the session revocation and refuses every token of the tenant (users and service accounts
alike) with 403 ``tenant_suspended``, failing closed like the revocation check. Operators'
tokens are never refused by it: they must reach the tenant to reactivate it.

The two events travel through two consumers and may be applied out of order; each change is
applied only if it is newer than the last one applied (``gateway:tenant-status-at:<id>``),
so a late suspension never undoes a later reactivation. The gateway that forwards an
operator's suspend or reactivate applies the answer at once (``Route.changes_tenant_status``),
ahead of the event, so the tenant's very next request meets it; a suspension answered is applied
by the same rule with its ``suspended_at`` (auth's moment of the event), so an answer held up
while another operator reactivated the tenant cannot leave it suspended for good; a deprovisioning
answered is applied with its ``deprovision_requested_at``, so an older reactivation's event heard
after it lets none of the tenant's tokens through.
"""

from __future__ import annotations

from datetime import datetime

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from agentbus_gateway.revocation import EDGE_STATE_RETRY
from agentbus_shared.bus import DurableConsumer
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import (
    TenantDeprovisionRequested,
    TenantReactivated,
    TenantSuspended,
)
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

KEY_PREFIX = "gateway:suspended-tenant:"
STATUS_AT_PREFIX = "gateway:tenant-status-at:"


TENANT_SUSPENDED_CONSUMER = DurableConsumer(
    service="gateway",
    name="gateway-tenant-suspended",
    stream=AUTH_EVENTS,
    subject=TenantSuspended.filter_subject(),
    retry=EDGE_STATE_RETRY,
    max_workers=2,
    ack_wait=30.0,
)
TENANT_REACTIVATED_CONSUMER = DurableConsumer(
    service="gateway",
    name="gateway-tenant-reactivated",
    stream=AUTH_EVENTS,
    subject=TenantReactivated.filter_subject(),
    retry=EDGE_STATE_RETRY,
    max_workers=2,
    ack_wait=30.0,
)
TENANT_DEPROVISION_CONSUMER = DurableConsumer(
    service="gateway",
    name="gateway-tenant-deprovision",
    stream=AUTH_EVENTS,
    subject=TenantDeprovisionRequested.filter_subject(),
    retry=EDGE_STATE_RETRY,
    max_workers=2,
    ack_wait=30.0,
)

# KEYS: the suspension, the time of the newest change applied. ARGV: the change's time (ms),
# "1" to suspend or "0" to reactivate. Not newer than the newest applied (a redelivery, or the
# event of a suspension applied from its answer): nothing changes.
_APPLY = """
local applied = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= applied then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('SET', KEYS[1], '1') else redis.call('DEL', KEYS[1]) end
return 1
"""


def suspendable_tenant(principal: Principal | None) -> str | None:
    """The tenant whose suspension refuses this caller: its token's, unless it is an operator's
    (a person's token holding ``platform:operate``; a service account's never passes)."""
    if principal is None:
        return None
    if principal.kind == "user" and principal.has(Scope.PLATFORM_OPERATE):
        return None
    return principal.tenant_id


_CHANGE_TIMES = {"suspended": "suspended_at", "deprovisioning": "deprovision_requested_at"}
"""The field of a tenant's page holding the moment of the change that left it in a status."""


def change_time(page: dict[str, object]) -> datetime | None:
    """When the change an operator's answer (the tenant's page) reports was made: the tenant's
    suspension or its deprovisioning request, if it says (a reactivation carries none)."""
    field = _CHANGE_TIMES.get(str(page.get("status")))
    at = page.get(field) if field else None
    if isinstance(at, datetime):
        return at
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at)
        except ValueError:
            return None
    return None


class SuspendedTenants:
    """The set of suspended tenant ids."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._apply = redis.register_script(_APPLY)

    @staticmethod
    def key(tenant_id: str) -> str:
        return KEY_PREFIX + tenant_id

    def queue_check(self, pipe: Pipeline, tenant_id: str) -> None:
        """Queue the check on a pipeline; its result is truthy when the tenant is suspended."""
        pipe.exists(self.key(tenant_id))

    async def is_suspended(self, tenant_id: str) -> bool:
        return bool(await self._redis.exists(self.key(tenant_id)))

    async def changed_since(self, tenant_id: str, at: datetime) -> bool:
        """Whether a change newer than ``at`` (a reactivation, say) was applied to the tenant."""
        applied = await self._redis.get(STATUS_AT_PREFIX + tenant_id)
        return applied is not None and int(applied) > _millis(at)

    async def apply_now(
        self, tenant_id: str, *, suspended: bool, at: datetime | None = None
    ) -> None:
        """An operator's change as this gateway forwarded it: applied at once (the event
        confirms it, in order, a moment later); with ``at``, only if newer than the last change
        applied, as the events are."""
        if at is not None:
            await self._change(tenant_id, at, suspended)
        elif suspended:
            await self._redis.set(self.key(tenant_id), b"1")
        else:
            await self._redis.delete(self.key(tenant_id))

    async def on_suspended(self, event: CloudEvent[TenantSuspended]) -> None:
        """Consumer handler; a redelivery applies the same change again (idempotent)."""
        applied = await self._change(event.data.tenant_id, event.data.suspended_at, True)
        log.info("tenant.suspended", tenant_id=event.data.tenant_id, applied=applied)

    async def on_reactivated(self, event: CloudEvent[TenantReactivated]) -> None:
        applied = await self._change(event.data.tenant_id, event.data.reactivated_at, False)
        log.info("tenant.reactivated", tenant_id=event.data.tenant_id, applied=applied)

    async def on_deprovision_requested(self, event: CloudEvent[TenantDeprovisionRequested]) -> None:
        """A tenant being deprovisioned is refused as a suspended one, for good."""
        applied = await self._change(event.data.tenant_id, event.data.requested_at, True)
        log.info("tenant.deprovision_requested", tenant_id=event.data.tenant_id, applied=applied)

    async def _change(self, tenant_id: str, at: datetime, suspended: bool) -> bool:
        applied = await self._apply(
            keys=[self.key(tenant_id), STATUS_AT_PREFIX + tenant_id],
            args=[_millis(at), "1" if suspended else "0"],
        )
        return bool(applied)


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
