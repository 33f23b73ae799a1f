"""The lockout counters themselves, in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from agentbus_auth.throttle import (
    Attempt,
    LockoutPolicy,
    LoginThrottle,
    Refusal,
    Refused,
    account_key,
)


@pytest.fixture
async def throttle(redis_url: str) -> AsyncIterator[LoginThrottle]:
    client = aioredis.Redis.from_url(redis_url)
    yield LoginThrottle(client, LockoutPolicy(threshold=3, base=10, maximum=25, ip_limit=100))
    await client.aclose()


async def test_concurrent_attempts_cannot_exceed_the_limit(throttle: LoginThrottle) -> None:
    slots = await asyncio.gather(*(throttle.begin("acct", "192.0.2.1") for _ in range(50)))
    granted = [s for s in slots if isinstance(s, Attempt)]
    assert len(granted) == 3
    assert all(
        isinstance(s, Refused) and s.reason is Refusal.ACCOUNT_LOCKED
        for s in slots
        if s not in granted
    )
    locks = await asyncio.gather(*(a.failed() for a in granted))
    assert sorted(lock is not None for lock in locks) == [False, False, True]
    assert await throttle.locked_for("acct") == 10


async def test_lock_lengths_double_up_to_the_maximum(throttle: LoginThrottle) -> None:
    lengths = []
    for _ in range(3):
        for _ in range(3):
            attempt = await throttle.begin("acct", None)
            assert isinstance(attempt, Attempt)
            lock = await attempt.failed()
        lengths.append(lock)
        await throttle._redis.delete("auth:lock:acct")
    assert lengths == [10, 20, 25]


async def test_release_gives_the_slot_back_and_success_clears_the_count(
    throttle: LoginThrottle,
) -> None:
    for _ in range(2):
        attempt = await throttle.begin("acct", "192.0.2.1")
        assert isinstance(attempt, Attempt)
        await attempt.failed()
    attempt = await throttle.begin("acct", "192.0.2.1")
    assert isinstance(attempt, Attempt)
    await attempt.release()
    attempt = await throttle.begin("acct", "192.0.2.1")  # the third slot again
    assert isinstance(attempt, Attempt)
    await attempt.succeeded()
    for _ in range(3):
        assert isinstance(await throttle.begin("acct", "192.0.2.1"), Attempt)


async def test_unlock_lifts_a_lock(throttle: LoginThrottle) -> None:
    for _ in range(3):
        attempt = await throttle.begin("acct", None)
        assert isinstance(attempt, Attempt)
        await attempt.failed()
    assert isinstance(await throttle.begin("acct", None), Refused)
    await throttle.unlock("acct")
    assert await throttle.locked_for("acct") == 0
    assert isinstance(await throttle.begin("acct", None), Attempt)


async def test_a_fixed_window_rate(throttle: LoginThrottle) -> None:
    results = [await throttle.within_rate("k", limit=2, window=60) for _ in range(3)]
    assert results == [True, True, False]


def test_accounts_are_keyed_by_normalized_email() -> None:
    assert account_key(" Ada@Example.COM ") == account_key("ada@example.com")
    assert "ada" not in account_key("ada@example.com")
