"""The gateway's FastAPI application: wiring only.

The process is a :class:`ServiceRuntime` (NATS, Redis, the session-revoked and
tenant-suspension consumers and the per-replica subscription that ends revoked
sessions' and suspended tenants' streams,
the key-set refresher, the internal ``/metrics`` listener) serving a FastAPI
app on the public port: the edge routes, the two streams, one generic
endpoint per declared route, and the web app for every other page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import FastAPI
from nats.js.client import JetStreamContext
from starlette.middleware.cors import CORSMiddleware

from agentbus_gateway.browser_sessions import (
    CSRF_HEADER,
    SESSION_MODE_HEADER,
    BrowserSessions,
    SessionCookies,
    SessionRoutes,
)
from agentbus_gateway.context import RequestContext
from agentbus_gateway.edge import edge_router
from agentbus_gateway.forwarding import Forwarder
from agentbus_gateway.guard import Guard
from agentbus_gateway.jwks import KeySetCache
from agentbus_gateway.lifetimes import SessionEnds
from agentbus_gateway.limits import RateLimiter, StreamSlots
from agentbus_gateway.manifest import MANIFEST
from agentbus_gateway.openapi import install_openapi
from agentbus_gateway.problems import REQUEST_ID_HEADER, install_error_handlers
from agentbus_gateway.revocation import SESSION_REVOKED_CONSUMER, RevokedSessions
from agentbus_gateway.settings import EDGE_GROUP, GatewaySettings
from agentbus_gateway.sso import SingleSignOn
from agentbus_gateway.streams import StreamRoutes
from agentbus_gateway.suspension import (
    TENANT_DEPROVISION_CONSUMER,
    TENANT_REACTIVATED_CONSUMER,
    TENANT_SUSPENDED_CONSUMER,
    SuspendedTenants,
)
from agentbus_gateway.tokens import TokenVerifier
from agentbus_gateway.webapp import install_web_app
from agentbus_gateway.webhooks import StripeIntake
from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts import ROUTES, Route
from agentbus_shared.contracts import auth as auth_contract
from agentbus_shared.contracts.auth import Jwks, SessionRevoked
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import (
    TenantDeprovisionRequested,
    TenantReactivated,
    TenantSuspended,
)
from agentbus_shared.features import TenantFeatureReader
from agentbus_shared.runtime import (
    ReadinessCheck,
    ServiceRuntime,
    check_readiness,
    metrics_route,
)

FEATURES_TTL = 5.0
"""Seconds a replica keeps a tenant's features before reading the ENTITLEMENTS bucket again."""

DESCRIPTION = """The public HTTP API of Agentbus.

Errors are RFC 9457 problem details (`application/problem+json`). Authenticated
routes take `Authorization: Bearer <access token>`. Limited responses carry
`RateLimit-Policy` and `RateLimit`; a 429 carries `Retry-After`. Every response
carries `X-Request-ID`.
"""


def create_app(
    settings: GatewaySettings | None = None,
    *,
    configure_process: bool = True,
    routes: Iterable[Route] = ROUTES,
) -> FastAPI:
    settings = settings or GatewaySettings()
    routes = tuple(routes)
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=configure_process)
    redis = runtime.redis_client
    rpc = runtime.rpc

    async def fetch_jwks() -> Jwks:
        return await rpc.request(
            auth_contract.SERVICE,
            auth_contract.Operation.JWKS,
            None,
            Jwks,
            timeout=settings.tuning.ping_timeout * 2,
        )

    keys = KeySetCache(
        fetch_jwks,
        unknown_kid_cooldown=settings.tuning.jwks_refresh_cooldown,
        retry_interval=settings.tuning.jwks_retry_interval,
    )
    runtime.background("jwks-refresh", keys.keep_fresh)

    # Metrics name internal targets and refusal reasons: only the cluster may scrape them.
    metrics_listener = runtime.serve_internally([metrics_route()], port=settings.metrics_port)

    revoked = RevokedSessions(redis)
    suspended = SuspendedTenants(redis)
    session_ends = SessionEnds(revoked, suspended)
    runtime.include(session_ends.router())

    @runtime.consumer(SESSION_REVOKED_CONSUMER)
    async def on_session_revoked(event: CloudEvent[SessionRevoked]) -> None:
        await revoked.on_session_revoked(event)

    @runtime.consumer(TENANT_SUSPENDED_CONSUMER)
    async def on_tenant_suspended(event: CloudEvent[TenantSuspended]) -> None:
        await suspended.on_suspended(event)

    @runtime.consumer(TENANT_REACTIVATED_CONSUMER)
    async def on_tenant_reactivated(event: CloudEvent[TenantReactivated]) -> None:
        await suspended.on_reactivated(event)

    @runtime.consumer(TENANT_DEPROVISION_CONSUMER)
    async def on_tenant_deprovision_requested(
        event: CloudEvent[TenantDeprovisionRequested],
    ) -> None:
        await suspended.on_deprovision_requested(event)

    guard = Guard(
        redis,
        TokenVerifier(
            keys,
            issuer=settings.tuning.token_issuer,
            audience=settings.tuning.token_audience,
            algorithms=settings.tuning.token_algorithms,
            leeway=settings.tuning.token_leeway,
        ),
        revoked,
        RateLimiter(redis),
        settings.tuning.rate_limits,
        suspended=suspended,
        fail_open_groups=frozenset({EDGE_GROUP})
        if settings.tuning.rate_limit_fail_open_edge
        else frozenset(),
        session_ends=session_ends,
        features=TenantFeatureReader(_jetstream(runtime), ttl=FEATURES_TTL),
    )

    checks: dict[str, ReadinessCheck] = dict(runtime.readiness)
    for service in settings.tuning.services:
        checks[service] = _service_ping(runtime, service, settings.tuning.ping_timeout)
    checks["signing_keys"] = _keys_loaded(keys)

    async def readiness() -> tuple[bool, dict[str, str]]:
        return await check_readiness(checks, timeout=settings.tuning.ping_timeout + 1)

    app = FastAPI(
        title="Agentbus",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=runtime.lifespan,
    )
    install_error_handlers(app)
    app.include_router(
        edge_router(
            guard=guard,
            readiness=readiness,
            keys=keys,
            intake=StripeIntake(
                EventPublisher(runtime.broker, timeout=2.0, attempts=3),
                settings.webhook_secrets(),
                tolerance=settings.tuning.stripe_tolerance,
            ),
        )
    )
    app.include_router(
        StreamRoutes(
            guard=guard,
            rpc=rpc,
            connection=lambda: runtime.broker.connection,
            slots=StreamSlots(
                redis,
                per_user=settings.tuning.sse_max_per_user,
                per_tenant=settings.tuning.sse_max_per_tenant,
            ),
            # Every signed-in page follows its person's feed: a pool apart, capped per person
            # only (a tenant's people are bounded by its seats).
            feed_slots=StreamSlots(
                redis,
                per_user=settings.tuning.sse_max_per_user,
                per_tenant=None,
                pool="sse:feed",
            ),
            session_ends=session_ends,
            heartbeat=settings.tuning.sse_heartbeat,
            queue_size=settings.tuning.sse_queue_size,
            idle_timeout=settings.tuning.sse_idle_timeout,
            run_check=settings.tuning.sse_run_check,
            start_timeout=settings.tuning.rpc_timeout,
        ).router
    )
    session_routes = SessionRoutes.of(routes)
    app.include_router(
        SingleSignOn(
            guard,
            rpc,
            SessionCookies(session_routes.cookie_paths, settings.is_production),
            timeout=settings.tuning.rpc_timeout,
        ).router
    )
    Forwarder(
        guard,
        rpc,
        default_timeout=settings.tuning.rpc_timeout,
        run_check=settings.tuning.sse_run_check,
    ).mount(app, routes)
    install_openapi(app, extra_models=[r.body for r in routes if r.form_body and r.body])
    if settings.web_dir is not None:
        install_web_app(app, settings.web_dir)
    app.add_middleware(
        BrowserSessions,
        routes=session_routes,
        secure=settings.is_production,
        trusted_origins=settings.cors_origins,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                REQUEST_ID_HEADER,
                SESSION_MODE_HEADER,
                CSRF_HEADER,
            ],
            expose_headers=[REQUEST_ID_HEADER, "RateLimit", "RateLimit-Policy", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        RequestContext,
        max_body_bytes=settings.tuning.max_body_bytes,
        trusted_proxies=settings.proxy_networks(),
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.keys = keys
    app.state.metrics_listener = metrics_listener
    return app


def _jetstream(runtime: ServiceRuntime) -> Callable[[], JetStreamContext]:
    """JetStream on the runtime's connection, once it is open (after start-up)."""

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    return jetstream


def _service_ping(runtime: ServiceRuntime, service: str, timeout: float) -> ReadinessCheck:
    async def check() -> bool:
        reply = await runtime.rpc.call(service, "ping", timeout=timeout)
        return isinstance(reply.data, dict) and bool(reply.data.get("ok"))

    return check


def _keys_loaded(keys: KeySetCache) -> ReadinessCheck:
    """Ready only with auth's key set in hand: without it every token is refused (503). At
    start-up the first fetch may miss auth, and requests would wait out the retry interval."""

    async def check() -> bool:
        return keys.snapshot is not None or await keys.refresh() is not None

    return check


def run(settings: GatewaySettings | None = None) -> None:
    import uvicorn

    settings = settings or GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is read only through trusted proxies
        server_header=False,
        timeout_graceful_shutdown=10,
    )


__all__ = ["create_app", "run"]
