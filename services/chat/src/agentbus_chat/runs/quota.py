"""The quota gate: a tenant's entitlements, read from billing's KV bucket (cached), checked before a run.

Where the entitlements come from, in order: this process's cache (fresh for
``entitlements_ttl`` seconds); the ``ENTITLEMENTS`` KV bucket (key = tenant
id) that billing writes; ``rpc.billing.v1.entitlements.get`` when the key is
absent. Entitlements whose billing period has ended (billing republishes only
when something changes, so the KV entry and the cache keep the old period) are
not used: chat asks ``rpc.billing.v1.entitlements.get``, which computes the
current period, so a new period's runs are never counted on the old period's
counter. When billing cannot be reached at all, the last entitlements seen (up
to ``entitlements_stale_ttl`` old, of a period not yet over) still decide;
with nothing usable cached the run is allowed (``quota_fail_open``) or refused
with 503 — see ``docs/adr/chat-quota-when-billing-is-unreachable.md``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

import nats.errors
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from agentbus_chat.errors import BillingUnreachable
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.billing import Entitlements, EntitlementsQuery, Operation
from agentbus_shared.contracts.common import Principal
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.errors import AgentbusError, NotFound
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

_BUS_ERRORS = (
    nats.errors.Error,
    TimeoutError,
    nats.errors.TimeoutError,
)


class QuotaGate:
    """Refuses a run the tenant's plan does not allow (402 / 429), before any model call."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        rpc: RpcClient,
        *,
        ttl: float,
        stale_ttl: float,
        fail_open: bool,
        max_tenants: int = 10_000,
        rpc_timeout: float = 2.0,
    ) -> None:
        self._jetstream = jetstream
        self._rpc = rpc
        self._ttl = ttl
        self._stale_ttl = stale_ttl
        self._fail_open = fail_open
        self._max_tenants = max_tenants
        self._rpc_timeout = rpc_timeout
        self._cache: OrderedDict[str, tuple[float, Entitlements]] = OrderedDict()
        self._kv: KeyValue | None = None

    async def check(self, principal: Principal) -> Entitlements | None:
        """Raise ``PaymentRequired`` / ``RateLimited`` when the plan does not allow one more run;
        answer the entitlements that decided (None: unchecked, billing could not tell).

        The runs in flight are not counted here: :class:`RunReservations` reserves the run's
        message against these entitlements atomically."""
        entitlements = await self.entitlements(principal)
        if entitlements is None:
            if self._fail_open:
                log.warning("quota.unchecked", tenant_id=principal.tenant_id)
                return None
            raise BillingUnreachable(retry_after=5)
        entitlements.check(now=datetime.now(UTC), messages=1)
        return entitlements

    async def entitlements(self, principal: Principal) -> Entitlements | None:
        """The tenant's entitlements, or None when billing cannot tell and nothing usable is cached."""
        tenant_id = principal.tenant_id
        cached = self._cached(tenant_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            found = await self._from_kv(tenant_id)
            if found is None:
                found = await self._from_rpc(principal)
        except (AgentbusError, *_BUS_ERRORS) as exc:
            log.warning("quota.billing_unreachable", tenant_id=tenant_id, error=type(exc).__name__)
            if cached is not None and now - cached[0] < self._stale_ttl:
                return cached[1]
            return None
        if found is None:
            return None
        self._remember(tenant_id, found)
        return found

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)

    def _cached(self, tenant_id: str) -> tuple[float, Entitlements] | None:
        """The cached entitlements of ``tenant_id`` and when they were seen, unless their period
        is over."""
        cached = self._cache.get(tenant_id)
        if cached is not None and _period_over(cached[1]):
            self.forget(tenant_id)
            return None
        return cached

    async def _from_kv(self, tenant_id: str) -> Entitlements | None:
        try:
            if self._kv is None:
                self._kv = await self._jetstream().key_value(ENTITLEMENTS.name)
            entry = await self._kv.get(tenant_id)
        except BucketNotFoundError:
            return None
        except (KeyNotFoundError, NoKeysError):
            return None
        if not entry.value:
            return None
        return _usable_entry(tenant_id, entry.value)

    async def _from_rpc(self, principal: Principal) -> Entitlements | None:
        try:
            entitlements: Entitlements = await self._rpc.request(
                "billing",
                Operation.ENTITLEMENTS_GET,
                EntitlementsQuery(tenant_id=principal.tenant_id),
                Entitlements,
                principal=principal,
                timeout=self._rpc_timeout,
            )
        except NotFound:
            log.warning("quota.no_entitlements", tenant_id=principal.tenant_id)
            return None
        return entitlements

    def _remember(self, tenant_id: str, entitlements: Entitlements) -> None:
        self._cache[tenant_id] = (time.monotonic(), entitlements)
        self._cache.move_to_end(tenant_id)
        while len(self._cache) > self._max_tenants:
            self._cache.popitem(last=False)


def _usable_entry(tenant_id: str, value: bytes) -> Entitlements | None:
    """The KV entry's entitlements when they are the tenant's and their period is not over."""
    try:
        entitlements = Entitlements.model_validate_json(value)
    except ValidationError:
        log.error("quota.bad_kv_entry", tenant_id=tenant_id)
        return None
    if entitlements.tenant_id != tenant_id:
        return None
    if _period_over(entitlements):
        log.info("quota.kv_period_over", tenant_id=tenant_id)
        return None
    return entitlements


def _period_over(entitlements: Entitlements) -> bool:
    """Whether the billing period of ``entitlements`` has ended (billing has not republished
    since: the current period's are billing's to compute)."""
    return entitlements.period_end <= datetime.now(UTC)
