"""Who may pass: authenticate as a route's ``access`` says, rate-limit, check scopes.

The order is the one DESIGN.md gives: verify the token, refuse a revoked
session (and a suspended tenant's token), charge the rate limit (so that refused calls are counted too), then
check that a user is calling where a person is needed, that the token
holds every scope of the route and that the tenant's features include the
route's feature (billing's ``ENTITLEMENTS`` bucket, read at most every few seconds per tenant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

import redis.asyncio as aioredis
from fastapi import Request
from redis.exceptions import NoScriptError, RedisError

from agentbus_gateway.lifetimes import SessionEnds
from agentbus_gateway.limits import Bucket, Decision, RateLimiter
from agentbus_gateway.revocation import RevokedSessions
from agentbus_gateway.settings import GroupLimits
from agentbus_gateway.suspension import SuspendedTenants, change_time, suspendable_tenant
from agentbus_gateway.tokens import TokenVerifier, principal_of, token_rejected
from agentbus_shared.contracts.auth import TenantStatus
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.features import Feature
from agentbus_shared.contracts.http import Access, Route
from agentbus_shared.errors import Forbidden, ServiceUnavailable, TenantSuspended, Unauthorized
from agentbus_shared.features import TenantFeatureReader
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class AccessPolicy:
    """What a route asks of its callers."""

    access: Access = "principal"
    scopes: tuple[str, ...] = ()
    rate_group: str = "authenticated"
    feature: Feature | None = None

    @classmethod
    def of(cls, route: Route) -> AccessPolicy:
        return cls(
            access=route.access,
            scopes=route.scopes,
            rate_group=route.rate_group,
            feature=Feature(route.feature) if route.feature else None,
        )


@dataclass(frozen=True)
class Admission:
    """A caller let through: who (``None`` on public routes) and from where."""

    principal: Principal | None
    meta: RequestMeta
    rate_headers: Mapping[str, str]
    token_accepted_until: datetime | None = None
    """When the caller's access token stops being accepted (``None`` on public routes)."""

    @property
    def caller(self) -> Principal:
        assert self.principal is not None, "only for routes that need a token"
        return self.principal


@dataclass(frozen=True)
class Refusal:
    """What Redis says against a caller: its session revoked, its tenant suspended."""

    revoked: bool = False
    suspended: bool = False


class Guard:
    def __init__(
        self,
        redis: aioredis.Redis,
        verifier: TokenVerifier,
        revoked: RevokedSessions,
        limiter: RateLimiter,
        rate_limits: Mapping[str, GroupLimits],
        *,
        suspended: SuspendedTenants,
        fail_open_groups: frozenset[str] = frozenset(),
        session_ends: SessionEnds | None = None,
        features: TenantFeatureReader | None = None,
    ) -> None:
        self._redis = redis
        self._verifier = verifier
        self._revoked = revoked
        self._suspended = suspended
        self._limiter = limiter
        self._rate_limits = rate_limits
        self._fail_open = fail_open_groups
        self._features = features
        self._session_ends = session_ends

    def knows_group(self, group: str) -> bool:
        return group in self._rate_limits

    async def admit(self, request: Request, policy: AccessPolicy) -> Admission:
        """Let the request through or raise 401/403/429/503."""
        meta = RequestMeta(
            request_id=getattr(request.state, "request_id", None),
            client_ip=getattr(request.state, "client_ip", None),
            user_agent=request.headers.get("user-agent"),
        )
        principal: Principal | None = None
        accepted_until: datetime | None = None
        if policy.access != "public":
            claims = await self._verifier.verify(bearer_token(request))
            principal = principal_of(claims)
            accepted_until = self._verifier.accepted_until(claims)
        buckets = self._buckets(policy.rate_group, principal, meta.client_ip)
        session_id = principal.session_id if principal is not None else None
        tenant_id = suspendable_tenant(principal)
        try:
            refusal, decision = await self._consult(session_id, tenant_id, buckets)
        except ServiceUnavailable:
            if principal is None and policy.rate_group in self._fail_open:
                return Admission(None, meta, {})
            raise
        if refusal.revoked or self._heard_ended(session_id):
            raise token_rejected("revoked", "The session of this token has been revoked.")
        if refusal.suspended:
            raise TenantSuspended()
        rate_headers = decision.headers()
        request.state.rate_headers = rate_headers
        if not decision.allowed:
            raise self._limiter.refusal(decision)
        if principal is not None:
            if policy.access == "user" and principal.kind != "user":
                raise Forbidden("This operation needs a user, not a service account.")
            principal.require(*policy.scopes)
            if policy.feature is not None and self._features is not None:
                await self._features.require(principal.tenant_id, policy.feature)
        return Admission(principal, meta, rate_headers, accepted_until)

    async def end_session(self, admission: Admission) -> None:
        """Refuse the caller's session from now on, ahead of auth's ``SessionRevoked`` event,
        and end its streams open on this replica.

        Auth has already ended the session, and its event revokes it here too a moment later,
        so a Redis failure is logged rather than failing the caller's request.
        """
        principal, until = admission.principal, admission.token_accepted_until
        if principal is None or principal.session_id is None or until is None:
            return
        if self._session_ends is not None:
            self._session_ends.end(principal.session_id, until=until)
        try:
            await self._revoked.revoke(principal.session_id, until=until, keep_existing=True)
        except (RedisError, OSError) as exc:
            log.warning("session.end_unrecorded", error=type(exc).__name__)

    async def apply_tenant_status(self, data: object) -> None:
        """An operator's change of a tenant's status answered (the tenant's page): refuse its
        tokens from now on unless it is active again, ahead of auth's event. Auth has changed
        the tenant already and its event applies the change here too a moment later, so a Redis
        failure is only logged."""
        if not isinstance(data, dict) or data.get("status") not in get_args(TenantStatus):
            return
        tenant_id = str(data["id"])
        suspended = data["status"] != "active"
        if suspended and self._session_ends is not None:
            self._session_ends.end_tenant(tenant_id)
        at = change_time(data)
        try:
            await self._suspended.apply_now(tenant_id, suspended=suspended, at=at)
        except (RedisError, OSError) as exc:
            log.warning("tenant.status_unrecorded", error=type(exc).__name__)

    def _heard_ended(self, session_id: str | None) -> bool:
        """This replica heard the session end: refused even before Redis records it."""
        return (
            session_id is not None
            and self._session_ends is not None
            and self._session_ends.has_ended(session_id)
        )

    def _buckets(
        self, group: str, principal: Principal | None, client_ip: str | None
    ) -> tuple[Bucket, ...]:
        limits = self._rate_limits[group]
        buckets: list[Bucket] = []
        if limits.ip is not None:
            buckets.append(Bucket(group, "ip", client_ip or "unknown", limits.ip))
        if principal is not None and limits.user is not None:
            buckets.append(Bucket(group, "user", principal.subject, limits.user))
        if principal is not None and limits.tenant is not None:
            buckets.append(Bucket(group, "tenant", principal.tenant_id, limits.tenant))
        return tuple(buckets)

    async def _consult(
        self, session_id: str | None, tenant_id: str | None, buckets: tuple[Bucket, ...]
    ) -> tuple[Refusal, Decision]:
        """Revocation and suspension checks and the rate-limit charge in one Redis round trip.
        Fails closed (503)."""
        if session_id is None and tenant_id is None and not buckets:
            return Refusal(), Decision(True, ())
        for attempt in (1, 2):
            pipe = self._redis.pipeline(transaction=False)
            if session_id is not None:
                self._revoked.queue_check(pipe, session_id)
            if tenant_id is not None:
                self._suspended.queue_check(pipe, tenant_id)
            if buckets:
                self._limiter.queue(pipe, buckets)
            try:
                results = await pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                    await self._limiter.load_script()  # Redis restarted: the script is gone
                    continue
            except (RedisError, OSError) as exc:
                log.warning("edge.redis_unavailable", error=type(exc).__name__)
                raise ServiceUnavailable(
                    "Rate limits and sessions cannot be checked right now.", retry_after=2
                ) from None
            failed = next((r for r in results if isinstance(r, Exception)), None)
            if failed is not None:
                log.warning("edge.redis_error", error=type(failed).__name__)
                raise ServiceUnavailable(
                    "Rate limits and sessions cannot be checked right now.", retry_after=2
                )
            checks = iter(results)
            refusal = Refusal(
                revoked=bool(next(checks)) if session_id is not None else False,
                suspended=bool(next(checks)) if tenant_id is not None else False,
            )
            decision = self._limiter.decide(buckets, results[-1]) if buckets else Decision(True, ())
            return refusal, decision
        raise ServiceUnavailable("Rate limiting is unavailable.", retry_after=2)

    def dependency(self, policy: AccessPolicy) -> Callable[[Request], Awaitable[Admission]]:
        """A FastAPI dependency admitting callers by ``policy``."""

        async def admitted(request: Request) -> Admission:
            return await self.admit(request, policy)

        return admitted


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``; 401 when there is none."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("An access token is required (Authorization: Bearer <token>).")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise token_rejected("malformed", "The Authorization header must be 'Bearer <token>'.")
    return token.strip()
