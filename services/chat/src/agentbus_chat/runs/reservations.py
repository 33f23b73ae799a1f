"""A place for every accepted run, and its message against the plan, taken atomically in Redis.

Billing counts a run's message only after the run ends (outbox → billing →
``ENTITLEMENTS`` KV → chat's cache), so the ``used`` count chat reads lags the
runs it has accepted. Each accepted run therefore reserves, in one Lua script
shared by all replicas:

- a place among the tenant's and the user's live runs (``chat:runs:<tenant>``
  and ``chat:runs:<tenant>:<user>``, sorted sets of run ids scored by lease
  expiry): past ``CHAT_MAX_RUNS_PER_USER`` / ``CHAT_MAX_RUNS_PER_TENANT`` a
  run is refused 429 ``too_many_runs``;
- its message: ``used`` (from the entitlements) + the tenant's live runs +
  its ended runs billing had not counted yet when those entitlements were
  written (``chat:ended:<tenant>``, run ids scored by the time their usage was
  recorded) must stay under the plan's message limit, else 429
  ``quota_exceeded``.

A run that ends gives its place back; if it used the model (its usage event
is recorded) it moves to the ended set and counts until entitlements newer
than its end reach chat. A run refused, failed before any model call or
cancelled before one gives its message back. The replica renews the leases of
its live runs with the conversation leases; a replica that dies holds its
runs' places for one lease at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.errors import RateLimited, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

# KEYS: the tenant's live runs, the user's live runs, the tenant's ended runs.
# ARGV: run id, lease seconds, per-user cap, per-tenant cap, message limit (-1: none),
#       messages used, entitlements written at (epoch s), seconds ended runs are kept.
# Returns {0} when reserved; {1, live} past the user's cap, {2, live} past the tenant's,
# {3, counted} when the plan's messages are all used or reserved.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local mine = redis.call('ZCARD', KEYS[2])
if mine >= tonumber(ARGV[3]) then return {1, mine} end
local live = redis.call('ZCARD', KEYS[1])
if live >= tonumber(ARGV[4]) then return {2, live} end
local limit = tonumber(ARGV[5])
if limit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[8]))
  local uncounted = redis.call('ZCOUNT', KEYS[3], ARGV[7], '+inf')
  local counted = tonumber(ARGV[6]) + live + uncounted
  if counted >= limit then return {3, counted} end
end
local expires = now + tonumber(ARGV[2])
local ttl = math.ceil(tonumber(ARGV[2])) + 1
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], expires, ARGV[1])
  redis.call('EXPIRE', KEYS[i], ttl)
end
return {0}
"""

# KEYS: pairs of (tenant's live runs, user's live runs). ARGV: lease seconds, then one run id
# per pair. Extends the lease of runs still held; a run whose lease ran out stays out.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local expires = now + tonumber(ARGV[1])
local ttl = math.ceil(tonumber(ARGV[1])) + 1
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', expires, ARGV[1 + math.ceil(i / 2)])
  redis.call('EXPIRE', key, ttl)
end
return 0
"""

# KEYS: the tenant's live runs, the user's live runs, the tenant's ended runs.
# ARGV: run id, usage recorded at (epoch s; '' when the run used no model), seconds kept.
_END = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], math.ceil(tonumber(ARGV[3])))
end
return 0
"""

RETRY_WHEN_BUSY = 5
"""``Retry-After`` of a run refused for too many live runs: runs take seconds, not minutes."""


class TooManyRuns(RateLimited):
    code = "too_many_runs"
    default_message = "Too many runs at once; wait for one to end."


class RunsUnavailable(ServiceUnavailable):
    code = "runs_unavailable"
    default_message = "Runs cannot be started right now; try again shortly."


@dataclass(frozen=True)
class Reservation:
    """One run's place among its tenant's and user's live runs (and, with a plan limit, its
    message)."""

    run_id: str
    tenant_id: str
    user_id: str
    counts_messages: bool

    @property
    def keys(self) -> list[str]:
        return [
            f"chat:runs:{self.tenant_id}",
            f"chat:runs:{self.tenant_id}:{self.user_id}",
            f"chat:ended:{self.tenant_id}",
        ]


class RunReservations:
    """Reserves, renews and gives back the places and messages of runs (all replicas share
    Redis)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_user: int,
        per_tenant: int,
        lease_seconds: float,
        ended_kept: float,
    ) -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._renew = redis.register_script(_RENEW)
        self._end = redis.register_script(_END)
        self._per_user = per_user
        self._per_tenant = per_tenant
        self._lease = lease_seconds
        self._ended_kept = ended_kept

    async def reserve(
        self, run_id: str, tenant_id: str, user_id: str, entitlements: Entitlements | None
    ) -> Reservation:
        """Reserve a place for the run, and its message when the plan limits messages."""
        limit = entitlements.limits.messages if entitlements is not None else None
        reservation = Reservation(run_id, tenant_id, user_id, counts_messages=limit is not None)
        used = entitlements.used.get("messages", 0) if entitlements is not None else 0
        written = entitlements.updated_at.timestamp() if entitlements is not None else 0.0
        args: list[str | float] = [run_id, self._lease, self._per_user, self._per_tenant]
        args += [-1 if limit is None else limit, used, written, self._ended_kept]
        try:
            answer = await self._reserve(keys=reservation.keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("runs.reservations_unavailable", error=type(exc).__name__)
            raise RunsUnavailable(retry_after=2) from None
        refused, counted = int(answer[0]), int(answer[-1])
        if refused == 1:
            raise TooManyRuns(
                "Too many runs at once for this user; wait for one to end.",
                retry_after=RETRY_WHEN_BUSY,
                details={"limit": self._per_user, "per": "user"},
            )
        if refused == 2:
            raise TooManyRuns(
                "Too many runs at once for this tenant; wait for one to end.",
                retry_after=RETRY_WHEN_BUSY,
                details={"limit": self._per_tenant, "per": "tenant"},
            )
        if refused == 3 and entitlements is not None:
            raise _messages_used_up(entitlements, counted)
        return reservation

    async def renew(self, reservations: Sequence[Reservation]) -> None:
        """Extend the leases of this replica's live runs (with their conversation leases)."""
        if not reservations:
            return
        keys = [key for r in reservations for key in r.keys[:2]]
        try:
            await self._renew(keys=keys, args=[self._lease, *(r.run_id for r in reservations)])
        except (RedisError, OSError) as exc:
            log.warning("runs.reservations_renewal_failed", error=type(exc).__name__)

    async def end(self, reservation: Reservation, usage_recorded_at: float | None) -> None:
        """Give the run's place back; its message too unless its usage was recorded at
        ``usage_recorded_at`` (then it counts until billing's entitlements are newer)."""
        recorded = usage_recorded_at if reservation.counts_messages else None
        args = [reservation.run_id, "" if recorded is None else recorded, self._ended_kept]
        try:
            await self._end(keys=reservation.keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("runs.reservation_end_failed", error=type(exc).__name__)


def _messages_used_up(entitlements: Entitlements, counted: int) -> RateLimited:
    limit = entitlements.limits.messages
    now = datetime.now(UTC)
    return RateLimited(
        f"The messages limit of the {entitlements.plan} plan is reached for this period.",
        code="quota_exceeded",
        retry_after=max(1, int((entitlements.period_end - now).total_seconds())),
        details={"meter": "messages", "limit": limit, "used": counted},
    )
