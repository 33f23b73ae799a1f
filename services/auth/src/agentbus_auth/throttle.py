"""Per-account progressive lockout and per-IP throttling, atomic in Redis.

An attempt takes a slot *before* the password is checked (one Lua script:
refuse when locked, when the IP is over its limit or when the account's slots
are taken; else count it). So N concurrent wrong guesses against a limit of L
verify at most L passwords; the rest are refused at once. A failed attempt
keeps its slot; the failure that fills the last slot locks the account for
``base * 2**(locks so far)`` seconds (capped) and starts the count afresh.
A success clears the account's count; a half success (password right, MFA
still to come) gives its slot back.

Accounts are keyed by a hash of the normalized email, so an unknown email is
counted and locked exactly like a real one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

import redis.asyncio as aioredis

_BEGIN = """
local lock_ttl = redis.call('PTTL', KEYS[2])
if lock_ttl > 0 then return {1, lock_ttl} end
if ARGV[5] == '1' then
  local ip = tonumber(redis.call('GET', KEYS[3]) or '0')
  if ip >= tonumber(ARGV[3]) then return {2, redis.call('PTTL', KEYS[3])} end
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  local locks = tonumber(redis.call('GET', KEYS[4]) or '0')
  return {1, math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ locks)}
end
if ARGV[5] == '1' then
  if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
end
return {0, n}
"""

_FAIL = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[2]) == 0 then
  local locks = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  local duration = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (locks - 1))
  redis.call('SET', KEYS[2], locks, 'PX', math.floor(duration))
  redis.call('DEL', KEYS[1])
  return {1, math.floor(duration)}
end
return {0, 0}
"""

_SUCCEED = """
redis.call('DEL', KEYS[1], KEYS[2])
if ARGV[1] == '1' and tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then
  redis.call('DECR', KEYS[3])
end
return 1
"""

_RELEASE = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
if ARGV[1] == '1' and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return 1
"""

_RATE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
return {1, n}
"""


class Refusal(Enum):
    ACCOUNT_LOCKED = 1
    IP_THROTTLED = 2


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    retry_after: int
    """Seconds until a new attempt may succeed (at least 1)."""


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window: int = 900
    base: int = 60
    maximum: int = 3600
    ip_limit: int = 50
    ip_window: int = 900
    memory: int = 24 * 3600
    """How long the number of past locks is remembered (it sets the next lock's length)."""


def account_key(email: str) -> str:
    """The throttle identity of an account: a hash of the normalized email (known or not)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class Attempt:
    """One counted attempt; report its outcome exactly once."""

    def __init__(self, throttle: LoginThrottle, account: str, ip: str | None) -> None:
        self._throttle = throttle
        self.account = account
        self.ip = ip

    async def failed(self) -> int | None:
        """Keep the slot; returns the lock duration in seconds if this failure locked the account."""
        return await self._throttle._failed(self.account)

    async def succeeded(self) -> None:
        await self._throttle._succeeded(self.account, self.ip)

    async def release(self) -> None:
        """Give the slot back without clearing the count (password right, MFA to come)."""
        await self._throttle._release(self.account, self.ip)


class LoginThrottle:
    def __init__(
        self, redis: aioredis.Redis, policy: LockoutPolicy, *, prefix: str = "auth"
    ) -> None:
        self._redis = redis
        self.policy = policy
        self._prefix = prefix
        self._begin = redis.register_script(_BEGIN)
        self._fail = redis.register_script(_FAIL)
        self._succeed = redis.register_script(_SUCCEED)
        self._release_script = redis.register_script(_RELEASE)
        self._rate = redis.register_script(_RATE)

    def _keys(self, account: str) -> tuple[str, str, str]:
        p = self._prefix
        return (f"{p}:fail:{account}", f"{p}:lock:{account}", f"{p}:locks:{account}")

    def _ip_key(self, ip: str | None) -> str:
        return f"{self._prefix}:ipfail:{ip or '-'}"

    async def begin(self, account: str, ip: str | None) -> Attempt | Refused:
        """Take a slot for an attempt on ``account`` from ``ip``, or say why not."""
        failures, lock, locks = self._keys(account)
        p = self.policy
        status, value = await self._begin(
            keys=[failures, lock, self._ip_key(ip), locks],
            args=[
                p.threshold,
                p.window * 1000,
                p.ip_limit,
                p.ip_window * 1000,
                "1" if ip else "0",
                p.base * 1000,
                p.maximum * 1000,
            ],
        )
        if status == 0:
            return Attempt(self, account, ip)
        reason = Refusal.ACCOUNT_LOCKED if status == 1 else Refusal.IP_THROTTLED
        return Refused(reason, retry_after=max(1, -(-int(value) // 1000)))

    async def _failed(self, account: str) -> int | None:
        failures, lock, locks = self._keys(account)
        p = self.policy
        locked, duration = await self._fail(
            keys=[failures, lock, locks],
            args=[p.threshold, p.base * 1000, p.maximum * 1000, p.memory * 1000],
        )
        return max(1, int(duration) // 1000) if locked else None

    async def _succeeded(self, account: str, ip: str | None) -> None:
        failures, _lock, locks = self._keys(account)
        await self._succeed(keys=[failures, locks, self._ip_key(ip)], args=["1" if ip else "0"])

    async def _release(self, account: str, ip: str | None) -> None:
        failures, _lock, _locks = self._keys(account)
        await self._release_script(keys=[failures, self._ip_key(ip)], args=["1" if ip else "0"])

    async def locked_for(self, account: str) -> int:
        """Seconds the account stays locked (0 when it is not)."""
        ttl = await self._redis.pttl(self._keys(account)[1])
        return max(0, -(-int(ttl) // 1000)) if ttl and ttl > 0 else 0

    async def unlock(self, account: str) -> None:
        """Clear the lock and the count (after a password reset, or by an operator)."""
        await self._redis.delete(*self._keys(account))

    async def rate_spent(self, key: str, *, limit: int) -> int:
        """Seconds until ``key``'s window ends when it has used up ``limit``; 0 while it has not."""
        name = f"{self._prefix}:rate:{key}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(name)
            pipe.pttl(name)
            count, ttl = await pipe.execute()
        if int(count or 0) < limit:
            return 0
        return max(1, -(-int(ttl) // 1000))

    async def within_rate(self, key: str, *, limit: int, window: int) -> bool:
        """A plain fixed-window counter: True while ``key`` stays within ``limit`` per ``window``."""
        allowed, _ = await self._rate(
            keys=[f"{self._prefix}:rate:{key}"], args=[limit, window * 1000]
        )
        return bool(allowed)
