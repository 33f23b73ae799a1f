"""A place for every accepted run, and its message against the plan, taken atomically in Redis.

Billing counts a run's message only after the run ends (outbox → billing →
``ENTITLEMENTS`` KV → chat's cache), so the ``used`` count chat reads lags the
runs it has accepted. Each accepted run therefore takes, in one Lua script
shared by all replicas:

- a place among the tenant's and the user's live runs (``chat:runs:<tenant>``
  and ``chat:runs:<tenant>:<user>``, sorted sets of run ids scored by lease
  expiry): past ``CHAT_TUNING__MAX_RUNS_PER_USER`` / ``CHAT_TUNING__MAX_RUNS_PER_TENANT`` a
  run is refused 429 ``too_many_runs``;
- its message, on the tenant's message counter of the billing period
  (``chat:messages:<tenant>:<period start, epoch s>``): every message chat
  accepted in the period and did not give back, live runs and ended ones.
  The run ids counted on it are kept beside it (``<counter>:runs``), so a run
  is counted once and given back once, however often either is tried.
  Billing's ``used`` plus the tenant's live runs (which billing has not
  counted yet) is the reconciliation: when it is larger (Redis lost the
  counter, usage came from elsewhere) the counter is raised to it. With a
  plan limit, the run is refused 429 ``quota_exceeded`` unless that count is
  under the limit; otherwise the counter grows by one.

A run that ends gives its place back; its message stays counted when its
usage event was recorded. A run refused, failed before any model call,
cancelled before one, or whose final save failed gives its message back; so
does a run whose reservation Redis may have taken without the answer reaching
chat. A give-back that fails is tried again with each lease renewal. The
replica renews the leases of its live runs with the conversation leases; a
replica that dies holds its runs' places for one lease at most.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentbus_chat.errors import RunsUnavailable, TooManyRuns
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

COUNTER_KEPT_AFTER_PERIOD = timedelta(days=2)
"""How long a period's message counter outlives the period (late runs, clocks apart)."""

# KEYS: the tenant's live runs, the user's live runs, and (when the period is known) the
#       tenant's message counter of the period and the run ids counted on it.
# ARGV: run id, lease seconds, per-user cap, per-tenant cap, message limit (-1: none),
#       messages billing counted, counter expiry (epoch s).
# Returns {0} when taken; {1, live} past the user's cap, {2, live} past the tenant's,
# {3, counted} when the plan's messages are all counted. A run already counted is not
# counted again.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local mine = redis.call('ZCARD', KEYS[2])
if mine >= tonumber(ARGV[3]) then return {1, mine} end
local live = redis.call('ZCARD', KEYS[1])
if live >= tonumber(ARGV[4]) then return {2, live} end
local count = #KEYS == 4 and redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0
local counted = 0
if count then
  local billed = tonumber(ARGV[6]) + live
  counted = math.max(billed, tonumber(redis.call('GET', KEYS[3]) or '0'))
  local limit = tonumber(ARGV[5])
  if limit >= 0 and counted >= limit then return {3, counted} end
end
local expires = now + tonumber(ARGV[2])
local ttl = math.ceil(tonumber(ARGV[2])) + 1
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], expires, ARGV[1])
  redis.call('EXPIRE', KEYS[i], ttl)
end
if count then
  redis.call('SET', KEYS[3], counted + 1)
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('EXPIREAT', KEYS[3], ARGV[7])
  redis.call('EXPIREAT', KEYS[4], ARGV[7])
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

# KEYS: the tenant's live runs, the user's live runs, and (when the run's message was counted)
#       the message counter it was counted on and the run ids counted on it.
# ARGV: run id, '1' to give the message back. Gives back only a message still counted for
# the run, so ending a run again gives nothing more back.
_END = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if #KEYS == 4 and ARGV[2] == '1' and redis.call('SREM', KEYS[4], ARGV[1]) == 1 then
  if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
end
return 0
"""

UNSETTLED_KEPT = 10_000
"""At most this many ended runs whose give-back failed are kept to be tried again."""

RETRY_WHEN_BUSY = 5
"""``Retry-After`` of a run refused for too many live runs: runs take seconds, not minutes."""


def messages_key(tenant_id: str, period_start: datetime) -> str:
    """The tenant's message counter of the billing period starting at ``period_start``."""
    return f"chat:messages:{tenant_id}:{int(period_start.timestamp())}"


def counted_runs_key(messages_key: str) -> str:
    """The run ids whose message is counted on the counter ``messages_key``."""
    return f"{messages_key}:runs"


@dataclass(frozen=True)
class Reservation:
    """One run's place among its tenant's and user's live runs, and its counted message."""

    run_id: str
    tenant_id: str
    user_id: str
    messages_key: str | None
    """The counter the run's message was counted on; None: not counted (plan unknown)."""

    @property
    def live_keys(self) -> list[str]:
        return [f"chat:runs:{self.tenant_id}", f"chat:runs:{self.tenant_id}:{self.user_id}"]

    @property
    def keys(self) -> list[str]:
        if self.messages_key is None:
            return self.live_keys
        return [*self.live_keys, self.messages_key, counted_runs_key(self.messages_key)]


class RunReservations:
    """Takes, renews and gives back the places and messages of runs (all replicas share
    Redis). An end that did not reach Redis (failed, or cancelled on the way) is tried again
    with each renewal: ending is idempotent."""

    def __init__(
        self, redis: aioredis.Redis, *, per_user: int, per_tenant: int, lease_seconds: float
    ) -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._renew = redis.register_script(_RENEW)
        self._end = redis.register_script(_END)
        self._per_user = per_user
        self._per_tenant = per_tenant
        self._lease = lease_seconds
        self._unsettled: OrderedDict[str, tuple[Reservation, bool]] = OrderedDict()

    async def reserve(
        self, run_id: str, tenant_id: str, user_id: str, entitlements: Entitlements | None
    ) -> Reservation:
        """Take a place for the run and, when the plan is known, count its message."""
        period = entitlements.period_start if entitlements is not None else None
        key = messages_key(tenant_id, period) if period is not None else None
        reservation = Reservation(run_id, tenant_id, user_id, messages_key=key)
        args: list[str | float] = [run_id, self._lease, self._per_user, self._per_tenant]
        args += _message_args(entitlements)
        try:
            answer = await self._reserve(keys=reservation.keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("runs.reservations_unavailable", error=type(exc).__name__)
            await self.end(reservation, message_spent=False)
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
            # The plan's own check, on the messages counted here: the same 429 billing's count gives.
            counted_here = {**entitlements.used, "messages": counted}
            entitlements.model_copy(update={"used": counted_here}).check(now=datetime.now(UTC))
        return reservation

    async def renew(self, reservations: Sequence[Reservation]) -> None:
        """Extend the leases of this replica's live runs (with their conversation leases), and
        try again the ends that did not reach Redis."""
        await self._settle_unsettled()
        if not reservations:
            return
        keys = [key for r in reservations for key in r.live_keys]
        try:
            await self._renew(keys=keys, args=[self._lease, *(r.run_id for r in reservations)])
        except (RedisError, OSError) as exc:
            log.warning("runs.reservations_renewal_failed", error=type(exc).__name__)

    async def end(self, reservation: Reservation, *, message_spent: bool) -> None:
        """Give the run's place back, and its message unless it was spent (its usage event
        was recorded: billing counts it too). Until Redis confirms, the end is kept to be tried
        again."""
        self._unsettled[reservation.run_id] = (reservation, not message_spent)
        self._unsettled.move_to_end(reservation.run_id)
        while len(self._unsettled) > UNSETTLED_KEPT:
            dropped, _ = self._unsettled.popitem(last=False)
            log.error("runs.reservation_end_dropped", run_id=dropped)
        await self._settle(reservation.run_id)

    async def _settle_unsettled(self) -> None:
        for run_id in list(self._unsettled):
            if not await self._settle(run_id):
                return

    async def _settle(self, run_id: str) -> bool:
        """End the run in Redis; whether Redis confirmed it (or it was settled already)."""
        unsettled = self._unsettled.get(run_id)
        if unsettled is None:
            return True
        reservation, give_back = unsettled
        try:
            await self._end(keys=reservation.keys, args=[run_id, "1" if give_back else "0"])
        except (RedisError, OSError) as exc:
            log.warning("runs.reservation_end_failed", run_id=run_id, error=type(exc).__name__)
            return False
        self._unsettled.pop(run_id, None)
        return True


def _message_args(entitlements: Entitlements | None) -> list[str | float]:
    """The plan's message limit (-1: none), the messages billing counted, the counter's expiry."""
    if entitlements is None:
        return [-1, 0, 0]
    limit = entitlements.limits.messages
    kept_until = max(entitlements.period_end, datetime.now(UTC)) + COUNTER_KEPT_AFTER_PERIOD
    used = entitlements.used.get("messages", 0)
    return [-1 if limit is None else limit, used, int(kept_until.timestamp())]
