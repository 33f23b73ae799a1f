"""Reads a tenant's features from billing's ``ENTITLEMENTS`` bucket, for the gateway's route
checks and the services that enforce a feature of their own.

What was read is kept for ``ttl`` seconds (the gateway's requests do not each read the bucket);
a tenant without an entry has :data:`FEATURES_WHEN_UNKNOWN`, and that answer is not kept, so
billing's first write for a new tenant counts at once. While the bucket cannot be read (the bus
failing; billing being down does not empty it), the last features read for the tenant still
decide, however old, and only a tenant never read has the free plan's.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import nats.errors
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.features import Feature, FeatureSet
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

_NO_ENTRY = (BucketNotFoundError, KeyNotFoundError, NoKeysError)
_BUS_ERRORS = (nats.errors.Error, TimeoutError)


class TenantFeatureReader:
    """A tenant's features as billing last published them."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        *,
        ttl: float = 0.0,
        max_tenants: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jetstream = jetstream
        self._ttl = ttl
        self._clock = clock
        self._max_tenants = max_tenants
        self._cache: OrderedDict[str, tuple[float, FeatureSet]] = OrderedDict()
        self._bucket: KeyValue | None = None

    async def require(self, tenant_id: str, feature: Feature) -> None:
        """Raise ``FeatureNotInPlan`` (403) unless the tenant has ``feature``."""
        (await self.of(tenant_id)).require(feature)

    async def of(self, tenant_id: str) -> FeatureSet:
        """The tenant's features (the default plan's while billing has published none)."""
        cached = self._cache.get(tenant_id)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            entitlements = await self._read(tenant_id)
        except _BUS_ERRORS as exc:
            log.warning("features.unreadable", tenant_id=tenant_id, error=type(exc).__name__)
            return cached[1] if cached is not None else FeatureSet.of(None)
        if entitlements is None:
            return FeatureSet.of(None)
        found = FeatureSet.of(entitlements)
        self._remember(tenant_id, found)
        return found

    async def _read(self, tenant_id: str) -> Entitlements | None:
        """The tenant's entitlements in the bucket (None without a usable entry); raises the
        bus's errors."""
        try:
            if self._bucket is None:
                self._bucket = await self._jetstream().key_value(ENTITLEMENTS.name)
            entry = await self._bucket.get(tenant_id)
        except _NO_ENTRY:
            return None
        return _entitlements_in(tenant_id, entry.value or b"")

    def _remember(self, tenant_id: str, features: FeatureSet) -> None:
        if self._ttl <= 0:
            return
        self._cache[tenant_id] = (self._clock(), features)
        self._cache.move_to_end(tenant_id)
        while len(self._cache) > self._max_tenants:
            self._cache.popitem(last=False)


def _entitlements_in(tenant_id: str, value: bytes) -> Entitlements | None:
    """The entry's entitlements when they are readable and the tenant's."""
    try:
        entitlements = Entitlements.model_validate_json(value)
    except ValidationError:
        log.error("features.bad_entry", tenant_id=tenant_id)
        return None
    return entitlements if entitlements.tenant_id == tenant_id else None
