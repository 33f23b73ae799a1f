"""The auth service's public signing keys, cached at the edge.

Fetched over ``rpc.auth.v1.jwks``; kept for the ``max_age`` auth states and
refreshed before it runs out (:meth:`KeySetCache.keep_fresh`). A token whose
``kid`` is unknown triggers a refresh, at most once per cool-down, so a flood
of garbage ``kid`` values cannot hammer auth. While auth is away the last good
copy stays in use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from agentbus_shared.contracts.auth import Jwks
from agentbus_shared.errors import AgentbusError, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

FetchJwks = Callable[[], Awaitable[Jwks]]


@dataclass(frozen=True)
class KeySetSnapshot:
    jwks: Jwks
    keys: dict[str, OKPKey]
    fetched_at: float

    @property
    def expires_at(self) -> float:
        return self.fetched_at + max(1, self.jwks.max_age)


class KeySetCache:
    """Signing keys by ``kid``; one refresh at a time, whoever asks for it."""

    def __init__(
        self,
        fetch: FetchJwks,
        *,
        unknown_kid_cooldown: float = 30.0,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cooldown = unknown_kid_cooldown
        self._retry_interval = retry_interval
        self._clock = clock
        self._snapshot: KeySetSnapshot | None = None
        self._lock = asyncio.Lock()
        self._last_forced = float("-inf")
        self._last_failure = float("-inf")

    @property
    def snapshot(self) -> KeySetSnapshot | None:
        return self._snapshot

    def holds(self, kid: str) -> bool:
        """Whether the current key set still has this key (no fetch)."""
        return self._snapshot is not None and kid in self._snapshot.keys

    async def current(self) -> KeySetSnapshot:
        """The key set, fetched now if there is none yet; 503 when auth cannot be reached.

        A copy past its ``max_age`` is still used while :meth:`keep_fresh`
        tries to replace it: a stale key set beats refusing every request
        while auth is away.
        """
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        if self._clock() - self._last_failure < self._retry_interval:
            raise ServiceUnavailable("The signing keys are unavailable.", retry_after=2)
        refreshed = await self.refresh()
        if refreshed is None:
            raise ServiceUnavailable("The signing keys are unavailable.", retry_after=2)
        return refreshed

    async def key(self, kid: str) -> OKPKey | None:
        """The key with this ``kid``; an unknown one refreshes the set unless it did so lately."""
        snapshot = await self.current()
        key = snapshot.keys.get(kid)
        if key is not None:
            return key
        now = self._clock()
        if now - self._last_forced < self._cooldown:
            return None
        self._last_forced = now
        log.info("jwks.unknown_kid_refresh")
        refreshed = await self.refresh()
        return refreshed.keys.get(kid) if refreshed else None

    async def refresh(self, *, min_age: float = 0.0) -> KeySetSnapshot | None:
        """Fetch the key set (once for all concurrent callers). Keeps the old copy on failure.

        Skips the fetch when the copy is younger than ``min_age`` seconds, or
        was fetched by a concurrent caller while this one waited.
        """
        started = self._clock()
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and (
                snapshot.fetched_at >= started or self._clock() - snapshot.fetched_at < min_age
            ):
                return snapshot
            try:
                jwks = await self._fetch()
                keys = _import_keys(jwks)
            except (AgentbusError, JoseError, ValueError) as exc:
                self._last_failure = self._clock()
                log.warning("jwks.refresh_failed", error=f"{type(exc).__name__}: {exc}")
                return snapshot
            self._snapshot = KeySetSnapshot(jwks, keys, self._clock())
            log.info("jwks.refreshed", keys=len(keys), etag=jwks.etag)
            return self._snapshot

    async def keep_fresh(self) -> None:
        """Refresh at 80% of each copy's life; retry soon while auth is away. Runs forever."""
        while True:
            snapshot = await self.refresh(min_age=1.0)
            if snapshot is None or snapshot.expires_at <= self._clock():
                await asyncio.sleep(self._retry_interval)
                continue
            lifetime = snapshot.expires_at - snapshot.fetched_at
            next_at = snapshot.fetched_at + 0.8 * lifetime
            await asyncio.sleep(max(self._retry_interval / 5, next_at - self._clock()))


def _import_keys(jwks: Jwks) -> dict[str, OKPKey]:
    """Ed25519 signing keys by kid; keys of another type, or without kid, are left out."""
    keys: dict[str, OKPKey] = {}
    for raw in jwks.keys:
        if raw.get("kty") != "OKP" or raw.get("crv") != "Ed25519" or not raw.get("kid"):
            continue
        if raw.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in raw.items() if k != "d"}
        keys[str(raw["kid"])] = OKPKey.import_key(public)
    return keys
