"""Revoked sessions, shared by every gateway replica through Redis.

Auth publishes ``SessionRevoked`` (``events.auth.<tenant>.session.revoked``)
when a session ends early (logout, password reset, refresh-token reuse). One
durable consumer (shared by the replicas) stores each as a Redis key that
lives until the session's last access token expires; every request with a
token of that session is refused from then on. A logout through this gateway
stores the key itself before it answers (``Route.ends_session``), so the very
next request with that token is refused; the event then sets the full lifetime.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from agentbus_shared.bus import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.auth import SessionRevoked
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.errors import ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

KEY_PREFIX = "gateway:revoked-session:"

EDGE_STATE_RETRY = RetryPolicy(max_deliver=8, backoff=(0.5, 1.0, 2.0, 5.0, 15.0, 60.0))
"""How the gateway's consumers of the state it holds in Redis (revoked sessions, suspended
tenants) retry an event Redis could not store."""

SESSION_REVOKED_CONSUMER = DurableConsumer(
    service="gateway",
    name="gateway-session-revoked",
    stream=AUTH_EVENTS,
    subject=SessionRevoked.filter_subject(),
    retry=EDGE_STATE_RETRY,
    max_workers=4,
    ack_wait=30.0,
)


class RevokedSessions:
    """The set of revoked session ids, each kept until its tokens expire."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    @staticmethod
    def key(session_id: str) -> str:
        return KEY_PREFIX + session_id

    async def revoke(
        self, session_id: str, *, until: datetime, keep_existing: bool = False
    ) -> bool:
        """Remember the revocation until ``until``; ``False`` when that moment has passed.

        ``keep_existing`` leaves a revocation already stored as it is (it may last longer: the
        event's ``expires_at`` covers every token of the session, a caller knows only its own).
        """
        remaining_ms = int((until - datetime.now(UTC)).total_seconds() * 1000)
        if remaining_ms <= 0:
            return False
        await self._redis.set(self.key(session_id), b"1", px=remaining_ms, nx=keep_existing)
        return True

    def queue_check(self, pipe: Pipeline, session_id: str) -> None:
        """Queue the check on a pipeline; its result is truthy when the session was revoked."""
        pipe.exists(self.key(session_id))

    async def is_revoked(self, session_id: str) -> bool:
        """Whether the session was revoked. Fails closed: 503 when Redis cannot say."""
        try:
            return bool(await self._redis.exists(self.key(session_id)))
        except (RedisError, OSError) as exc:
            log.warning("revocation.unavailable", error=type(exc).__name__)
            raise ServiceUnavailable(
                "Sessions cannot be checked right now.", retry_after=2
            ) from None

    async def on_session_revoked(self, event: CloudEvent[SessionRevoked]) -> None:
        """Consumer handler; a redelivery just sets the same key again (idempotent)."""
        data = event.data
        stored = await self.revoke(data.session_id, until=data.expires_at)
        log.info("session.revoked", session_id=data.session_id, stored=stored)
