"""How long an open stream may live: until its access token expires or its session ends.

The guard admits a stream once, at open; from then on its lifetime is watched
here, for every stream alike (:meth:`StreamRoutes._open` puts each one under
watch). A stream ends with an ``error`` event, then closes:

- ``token_expired`` when its access token stops being accepted (``exp`` plus the
  verifier's leeway), by a timer per stream;
- ``session_revoked`` as soon as its session ends (logout, password reset, role
  change, removal from the tenant, a revoked service account: auth publishes
  ``session.revoked`` for each). Every replica subscribes to those events on a
  plain core subscription (:data:`SESSION_ENDS_SUBJECT`, no queue group, so each
  replica ends its own streams), and a logout through this replica ends its
  streams before auth's event arrives. The replica remembers the session as
  ended until its tokens expire: a stream admitted just before the event but
  put under watch after it ends at once, and the guard refuses the session even
  before the revocation reaches Redis. A replica that misses an event (its NATS
  connection was down) still ends the stream at the next heartbeat, when the
  stream's session is checked against the revocations in Redis;
- ``tenant_suspended`` as soon as an operator suspends its tenant (auth publishes
  ``tenant.suspended``; every replica hears it the same way, and the replica that
  forwarded the suspension ends its streams before the event arrives; a suspension
  heard after a newer change was applied in Redis, its reactivation, ends nothing),
  or asks to deprovision it (``tenant.deprovision_requested``, heard the same way).
  An operator's own streams are not watched for it. A missed event is caught at the
  next heartbeat too, against the suspensions in Redis.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from faststream.nats import NatsRouter
from redis.exceptions import RedisError

from agentbus_gateway.revocation import RevokedSessions
from agentbus_gateway.sse import Inbox, SseEvent, error_event
from agentbus_gateway.suspension import SuspendedTenants
from agentbus_shared.bus.consumers import decode_json_types
from agentbus_shared.contracts.auth import SessionRevoked
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import TenantDeprovisionRequested, TenantSuspended
from agentbus_shared.errors import ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

SESSION_ENDS_SUBJECT = SessionRevoked.filter_subject()
TENANT_SUSPENSIONS_SUBJECT = TenantSuspended.filter_subject()
TENANT_DEPROVISIONS_SUBJECT = TenantDeprovisionRequested.filter_subject()

SESSION_REVOKED = "session_revoked"
TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code, not a secret
TENANT_SUSPENDED = "tenant_suspended"


def session_revoked() -> SseEvent:
    return error_event(
        SESSION_REVOKED,
        "The session of this stream has ended (logout, password reset, role change or "
        "removal from the tenant). Sign in again to open a new stream.",
    )


def token_expired() -> SseEvent:
    return error_event(
        TOKEN_EXPIRED,
        "The access token of this stream has expired. Open the stream again with a fresh token.",
    )


def tenant_suspended() -> SseEvent:
    return error_event(
        TENANT_SUSPENDED,
        "This team has been suspended by the platform's operators; its streams have ended.",
    )


class StreamLifetime:
    """The watch over one open stream; :meth:`release` once the stream has closed."""

    def __init__(
        self,
        inbox: Inbox,
        session_id: str | None,
        tenant_id: str | None,
        checks: tuple[RevokedSessions, SuspendedTenants],
        forget: Callable[[StreamLifetime], None],
    ) -> None:
        self.inbox = inbox
        self.session_id = session_id
        self.tenant_id = tenant_id
        self._revoked, self._suspended = checks
        self._forget = forget
        self._expiry: asyncio.TimerHandle | None = None

    def expire_at(self, until: datetime) -> None:
        seconds = (until - datetime.now(UTC)).total_seconds()
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, seconds), self.end, token_expired()
        )

    def end(self, ending: SseEvent) -> None:
        if self.inbox.ending is None:
            log.info("stream.ended", reason=ending.data["code"], session_id=self.session_id)
        self.inbox.end(ending)

    async def recheck(self) -> None:
        """End the stream if its session was revoked, or its tenant suspended, without this
        replica hearing of it. Redis out of reach keeps the stream open: the events still end
        it."""
        if self.inbox.ending is not None:
            return
        try:
            revoked = self.session_id is not None and await self._revoked.is_revoked(
                self.session_id
            )
            suspended = self.tenant_id is not None and await self._suspended.is_suspended(
                self.tenant_id
            )
        except (ServiceUnavailable, RedisError, OSError):
            return
        if revoked:
            self.end(session_revoked())
        elif suspended:
            self.end(tenant_suspended())

    def release(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self._forget(self)


class SessionEnds:
    """The sessions this replica has heard end (until their tokens expire), and the streams
    open on this replica by session id and by tenant."""

    def __init__(self, revoked: RevokedSessions, suspended: SuspendedTenants) -> None:
        self._checks = (revoked, suspended)
        self._suspended = suspended
        self._streams: defaultdict[str, set[StreamLifetime]] = defaultdict(set)
        self._tenants: defaultdict[str, set[StreamLifetime]] = defaultdict(set)
        self._ended: dict[str, datetime] = {}

    def watch(
        self,
        inbox: Inbox,
        *,
        session_id: str | None,
        until: datetime,
        tenant_id: str | None = None,
    ) -> StreamLifetime:
        """Watch the stream fed by ``inbox``: end it at ``until`` (when its token stops being
        accepted), when ``session_id`` ends or when ``tenant_id`` is suspended, whichever comes
        first (``tenant_id`` ``None``: an operator's stream, never ended by a suspension)."""
        lifetime = StreamLifetime(inbox, session_id, tenant_id, self._checks, self._forget)
        lifetime.expire_at(until)
        if session_id is not None:
            if self.has_ended(session_id):
                lifetime.end(session_revoked())
            else:
                self._streams[session_id].add(lifetime)
        if tenant_id is not None:
            self._tenants[tenant_id].add(lifetime)
        return lifetime

    def end_tenant(self, tenant_id: str) -> None:
        """End the tenant's streams open on this replica at once (it was suspended)."""
        for lifetime in self._tenants.pop(tenant_id, set()):
            lifetime.end(tenant_suspended())

    async def hear_suspension(self, event: CloudEvent[TenantSuspended]) -> None:
        """End the suspended tenant's streams, unless a newer change (its reactivation) was
        applied already: a suspension heard late ends none of the streams opened since. Redis
        out of reach: they end (fail closed)."""
        tenant_id, at = event.data.tenant_id, event.data.suspended_at
        try:
            if await self._suspended.changed_since(tenant_id, at):
                log.info("tenant.suspension_outdated", tenant_id=tenant_id)
                return
        except (RedisError, OSError) as exc:
            log.warning("tenant.suspension_unchecked", error=type(exc).__name__)
        self.end_tenant(tenant_id)

    def end(self, session_id: str, *, until: datetime) -> None:
        """Remember until ``until`` (its tokens' expiry) that ``session_id`` has ended, and
        end its streams open on this replica at once."""
        now = datetime.now(UTC)
        self._ended = {sid: at for sid, at in self._ended.items() if at > now}
        if until > now:
            self._ended[session_id] = max(until, self._ended.get(session_id, until))
        for lifetime in self._streams.pop(session_id, set()):
            lifetime.end(session_revoked())

    def has_ended(self, session_id: str) -> bool:
        """Whether this replica has heard ``session_id`` end (and its tokens may still live)."""
        until = self._ended.get(session_id)
        return until is not None and until > datetime.now(UTC)

    def router(self) -> NatsRouter:
        """The core subscription every replica holds to auth's ``session.revoked`` events."""
        router = NatsRouter()

        # no_reply: the events are published to JetStream as requests, and an empty answer
        # from a subscriber could reach the publisher ahead of the stream's acknowledgement.
        @router.subscriber(
            SESSION_ENDS_SUBJECT,
            decoder=decode_json_types,
            no_reply=True,
            title="gateway.open-streams-session-revoked",
            description="Every replica (no queue group): ends the open streams of a revoked "
            "session at once.",
        )
        async def on_session_revoked(event: CloudEvent[SessionRevoked]) -> None:
            self.end(event.data.session_id, until=event.data.expires_at)

        @router.subscriber(
            TENANT_SUSPENSIONS_SUBJECT,
            decoder=decode_json_types,
            no_reply=True,
            title="gateway.open-streams-tenant-suspended",
            description="Every replica (no queue group): ends the open streams of a suspended "
            "tenant at once.",
        )
        async def on_tenant_suspended(event: CloudEvent[TenantSuspended]) -> None:
            await self.hear_suspension(event)

        @router.subscriber(
            TENANT_DEPROVISIONS_SUBJECT,
            decoder=decode_json_types,
            no_reply=True,
            title="gateway.open-streams-tenant-deprovision",
            description="Every replica (no queue group): ends the open streams of a tenant "
            "being deprovisioned at once (for good: no change comes after it).",
        )
        async def on_tenant_deprovision(event: CloudEvent[TenantDeprovisionRequested]) -> None:
            self.end_tenant(event.data.tenant_id)

        return router

    def _forget(self, lifetime: StreamLifetime) -> None:
        _discard(self._streams, lifetime.session_id, lifetime)
        _discard(self._tenants, lifetime.tenant_id, lifetime)


def _discard(
    index: defaultdict[str, set[StreamLifetime]], key: str | None, lifetime: StreamLifetime
) -> None:
    if key is None or key not in index:
        return
    index[key].discard(lifetime)
    if not index[key]:
        del index[key]


__all__ = [
    "SESSION_ENDS_SUBJECT",
    "SESSION_REVOKED",
    "TENANT_SUSPENDED",
    "TOKEN_EXPIRED",
    "SessionEnds",
    "StreamLifetime",
]
