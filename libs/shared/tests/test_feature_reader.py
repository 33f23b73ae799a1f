"""TenantFeatureReader: a tenant's features from the ENTITLEMENTS bucket, kept for a while, the last
ones read while the bus fails, the free plan's for a tenant without an entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError

from agentbus_shared.contracts.features import FEATURES_WHEN_UNKNOWN, FeatureSet
from agentbus_shared.features import TenantFeatureReader
from agentbus_shared.testing.entitlements import entitlements_with

PRO = frozenset({"chat", "tools", "service_accounts", "research_agent", "priority_support"})


@dataclass
class _Entry:
    value: bytes


@dataclass
class _Bucket:
    """The bucket as billing left it; ``failing`` plays the bus timing out."""

    entries: dict[str, bytes] = field(default_factory=dict)
    failing: bool = False
    reads: int = 0

    async def get(self, key: str) -> _Entry:
        self.reads += 1
        if self.failing:
            raise TimeoutError
        if key not in self.entries:
            raise KeyNotFoundError
        return _Entry(self.entries[key])

    async def key_value(self, _name: str) -> _Bucket:
        return self


@dataclass
class _Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def _pro(tenant_id: str) -> bytes:
    return entitlements_with(tenant_id, *sorted(PRO), plan="pro").model_dump_json().encode()


def _reader(bucket: _Bucket, clock: _Clock) -> TenantFeatureReader:
    jetstream = cast(JetStreamContext, cast(Any, bucket))
    return TenantFeatureReader(lambda: jetstream, ttl=5.0, clock=clock)


async def test_features_read_are_kept_for_the_ttl_then_read_again() -> None:
    bucket, clock = _Bucket({"t_pro": _pro("t_pro")}), _Clock()
    reader = _reader(bucket, clock)

    first = await reader.of("t_pro")
    clock.now += 4.9
    kept = await reader.of("t_pro")
    clock.now += 0.2
    await reader.of("t_pro")

    assert first == kept == FeatureSet("pro", PRO)
    assert bucket.reads == 2


async def test_a_paying_tenant_keeps_its_last_features_while_the_bucket_cannot_be_read() -> None:
    bucket, clock = _Bucket({"t_pro": _pro("t_pro")}), _Clock()
    reader = _reader(bucket, clock)
    await reader.of("t_pro")

    bucket.failing = True
    clock.now += 3600

    assert await reader.of("t_pro") == FeatureSet("pro", PRO)
    assert await reader.of("t_never_read") == FEATURES_WHEN_UNKNOWN


async def test_a_tenant_without_an_entry_has_the_free_plans_features_not_kept() -> None:
    bucket, clock = _Bucket(), _Clock()
    reader = _reader(bucket, clock)

    assert await reader.of("t_new") == FEATURES_WHEN_UNKNOWN
    bucket.entries["t_new"] = _pro("t_new")

    assert await reader.of("t_new") == FeatureSet("pro", PRO), "billing's first write counts"
