"""Rate limits and stream caps, atomic in Redis.

Rate limits use GCRA (the generic cell rate algorithm): a quota of ``limit``
requests per ``window`` seconds allows a burst of exactly ``limit`` and then
one more request every ``window / limit`` seconds. All the buckets of one
request (e.g. per user *and* per tenant) are checked and charged in one Lua
script, so a request refused by one bucket costs nothing in the others, and
replicas see one truth (the script reads Redis' clock, not ours).

Headers follow the IETF ratelimit-headers draft: ``RateLimit-Policy``
(``"<name>";q=<limit>;w=<window>``) and ``RateLimit`` (``"<name>";r=<remaining>;t=<seconds
until the quota is whole again>``), one list item per bucket; a 429 adds
``Retry-After``.

Open server-sent-event streams are capped per user and per tenant with a
sorted set of leases, so a replica that dies leaks no slot for longer than
one lease.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from agentbus_gateway.settings import Quota
from agentbus_shared.errors import RateLimited, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

RATE_LIMITED = Counter(
    "agentbus_gateway_rate_limited_total",
    "Requests refused by a rate limit, by rate group and what was counted.",
    ["group", "dimension"],
)

# KEYS: one per bucket. ARGV: per bucket its emission interval and limit (microseconds, count).
# Returns, per bucket: {remaining, reset_us, retry_us}; retry_us > 0 on a bucket that refused.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local allowed = true
local state = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local window = interval * limit
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local refused = new_tat - now > window
  if refused then allowed = false end
  state[i] = {tat, new_tat, interval, window, refused}
end
local out = {}
for i, key in ipairs(KEYS) do
  local tat, new_tat, interval, window, refused = unpack(state[i])
  local used_until = tat
  if allowed then
    used_until = new_tat
    redis.call('SET', key, string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
  end
  local remaining = math.floor((window - (used_until - now)) / interval)
  if remaining < 0 then remaining = 0 end
  local retry = 0
  if refused then retry = new_tat - window - now end
  out[i] = {remaining, used_until - now, retry}
end
if allowed then return {1, out} end
return {0, out}
"""

# KEYS: lease sets. ARGV: member, lease seconds, then one cap per key.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[2]), ARGV[1])
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2])) + 1)
end
return 0
"""

# KEYS: lease sets. ARGV: member, lease seconds.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2])) + 1)
end
return 0
"""


@dataclass(frozen=True)
class Bucket:
    """One quota applied to one counted thing (``dimension`` ip/user/tenant, its ``subject``)."""

    group: str
    dimension: str
    subject: str
    quota: Quota

    @property
    def name(self) -> str:
        return f"{self.group}-{self.dimension}"

    @property
    def key(self) -> str:
        return f"gateway:rl:{self.group}:{self.dimension}:{self.subject}"


@dataclass(frozen=True)
class BucketState:
    bucket: Bucket
    remaining: int
    reset_seconds: float
    retry_after: float = 0.0
    """Seconds until this bucket admits one more request; 0 unless it refused this one."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    states: tuple[BucketState, ...]
    retry_after: float = 0.0

    def headers(self) -> dict[str, str]:
        if not self.states:
            return {}
        policy = ", ".join(
            f'"{s.bucket.name}";q={s.bucket.quota.limit};w={_seconds(s.bucket.quota.window)}'
            for s in self.states
        )
        current = ", ".join(
            f'"{s.bucket.name}";r={s.remaining};t={math.ceil(s.reset_seconds)}' for s in self.states
        )
        return {"RateLimit-Policy": policy, "RateLimit": current}


def _seconds(window: float) -> int:
    return max(1, math.ceil(window))


class RateLimiter:
    """Checks and charges buckets atomically, queued on a pipeline the caller sends.

    The script is called by its SHA (``EVALSHA``) so a request costs no script
    upload; after a Redis restart :meth:`load_script` puts it back.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._sha = hashlib.sha1(_GCRA.encode(), usedforsecurity=False).hexdigest()

    def queue(self, pipe: Pipeline, buckets: tuple[Bucket, ...]) -> None:
        """Queue charging one request to every bucket, or to none if any refuses."""
        args: list[int] = []
        for bucket in buckets:
            interval_us = max(1, round(bucket.quota.window * 1_000_000 / bucket.quota.limit))
            args += [interval_us, bucket.quota.limit]
        pipe.evalsha(self._sha, len(buckets), *[b.key for b in buckets], *args)

    @staticmethod
    def decide(buckets: tuple[Bucket, ...], reply: Any) -> Decision:
        """The decision in the script's reply (``queue``'s result)."""
        allowed, rows = reply
        states = tuple(
            BucketState(bucket, int(row[0]), int(row[1]) / 1e6, int(row[2]) / 1e6)
            for bucket, row in zip(buckets, rows, strict=True)
        )
        return Decision(bool(allowed), states, max(s.retry_after for s in states))

    async def load_script(self) -> None:
        await self._redis.script_load(_GCRA)

    @staticmethod
    def refusal(decision: Decision) -> RateLimited:
        """The 429 for a refused decision (``Retry-After`` rounded up to whole seconds)."""
        refused = [s.bucket for s in decision.states if s.retry_after > 0] or [
            decision.states[0].bucket
        ]
        for bucket in refused:
            RATE_LIMITED.labels(bucket.group, bucket.dimension).inc()
        return RateLimited(
            "Too many requests; try again later.",
            retry_after=max(1, math.ceil(decision.retry_after)),
            details={"policy": refused[0].name},
        )


class TooManyStreams(RateLimited):
    code = "too_many_streams"
    default_message = "Too many open streams; close one first."


class StreamSlots:
    """Caps on concurrently open streams of one ``pool``, per user and, unless ``per_tenant`` is
    ``None``, per tenant (leases renewed while open)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_user: int,
        per_tenant: int | None,
        pool: str = "sse",
        lease: float = 60.0,
    ) -> None:
        self._redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._pool = pool
        self._caps = [per_user] if per_tenant is None else [per_user, per_tenant]
        self.lease = lease

    def _keys(self, user: str, tenant: str) -> list[str]:
        keys = [f"gateway:{self._pool}:user:{user}", f"gateway:{self._pool}:tenant:{tenant}"]
        return keys[: len(self._caps)]

    async def acquire(self, stream_id: str, *, user: str, tenant: str) -> None:
        """Take a slot for ``stream_id`` (or renew its lease); 429 when a cap is reached."""
        try:
            refused = await self._acquire(
                keys=self._keys(user, tenant),
                args=[stream_id, self.lease, *self._caps],
            )
        except (RedisError, OSError) as exc:
            log.warning("streams.slots_unavailable", error=type(exc).__name__)
            raise ServiceUnavailable("Streams are unavailable right now.", retry_after=2) from None
        if refused:
            raise TooManyStreams(
                "Too many open streams for this "
                + ("user" if refused == 1 else "tenant")
                + "; close one first.",
                retry_after=5,
            )

    async def renew(self, stream_id: str, *, user: str, tenant: str) -> None:
        """Extend the lease of an open stream (called with each heartbeat)."""
        try:
            await self._renew(keys=self._keys(user, tenant), args=[stream_id, self.lease])
        except (RedisError, OSError) as exc:
            log.warning("streams.renew_failed", error=type(exc).__name__)

    async def release(self, stream_id: str, *, user: str, tenant: str) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in self._keys(user, tenant):
                    pipe.zrem(key, stream_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("streams.release_failed", error=type(exc).__name__)
