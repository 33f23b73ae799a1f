"""A tenant's usage this billing period, read from billing's ``ENTITLEMENTS`` KV bucket.

Billing writes each tenant's entitlements there after every plan or usage change (key = tenant
id). The operators' tenant page shows what it finds; when the bucket, the key or the bus cannot
answer in time the page shows no usage rather than failing. Entitlements of a period that has
ended (billing has written nothing since) are not this period's usage: the page shows none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import nats.errors
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue
from pydantic import ValidationError

from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.platform import TenantUsage
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

READ_TIMEOUT = 2.0
"""How long the tenant page waits for the bucket before it shows no usage."""


class TenantUsageReader:
    def __init__(self, jetstream: Callable[[], JetStreamContext]) -> None:
        self._jetstream = jetstream
        self._kv: KeyValue | None = None

    async def usage(self, tenant_id: str) -> TenantUsage:
        """The tenant's usage this period; empty when billing's bucket cannot say now."""
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                value = await self._read(tenant_id)
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            log.info("platform.usage_unavailable", tenant_id=tenant_id, error=type(exc).__name__)
            return TenantUsage()
        if not value:
            return TenantUsage()
        try:
            entitlements = Entitlements.model_validate_json(value)
        except ValidationError:
            log.warning("platform.usage_unreadable", tenant_id=tenant_id)
            return TenantUsage()
        if entitlements.period_end <= datetime.now(UTC):
            log.info("platform.usage_period_over", tenant_id=tenant_id)
            return TenantUsage()
        return TenantUsage(
            period_start=entitlements.period_start,
            period_end=entitlements.period_end,
            used=entitlements.used,
        )

    async def _read(self, tenant_id: str) -> bytes | None:
        if self._kv is None:
            self._kv = await self._jetstream().key_value(ENTITLEMENTS.name)
        entry = await self._kv.get(tenant_id)
        return entry.value
