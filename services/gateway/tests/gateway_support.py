"""The gateway's test harness: token signing, fake services on NATS, a served gateway.

Auth, chat and billing are test responders on the same nats-server: a fake
auth that signs tokens with joserfc and answers ``jwks``, a fake chat that
publishes frames, and echo operations that answer with what they received
(payload, principal, request metadata), so a test sees exactly what a service
would have been sent. The fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import nats
import uvicorn
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import OKPKey

from agentbus_gateway.app import create_app
from agentbus_gateway.settings import GatewaySettings
from agentbus_shared.bus import Meta, OptionalPrincipal, Reply, apply_streams
from agentbus_shared.bus.permissions import HARNESS
from agentbus_shared.contracts import ROUTES, chat
from agentbus_shared.contracts.auth import (
    ACCESS_TOKEN_TYPE,
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    Jwks,
    RevokeReason,
    SessionRevoked,
)
from agentbus_shared.contracts.common import Principal, RequestMeta, Scope
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.errors import NotFound, PaymentRequired, Unauthorized
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.servers import free_port
from agentbus_shared.settings import ServiceSettings
from agentbus_shared.testing.plugin import BusLogins
from agentbus_shared.testing.stack import generous_rate_limit_table
from agentbus_shared.testing.waiting import eventually

ALL_SCOPES = " ".join(s.value for s in Scope)


# ------------------------------------------------------------------ tokens
@dataclass
class TokenFactory:
    """Signs access tokens the way auth does (Ed25519, header kid, typ at+jwt)."""

    key: OKPKey
    issuer: str = TOKEN_ISSUER
    audience: str = TOKEN_AUDIENCE

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "u_alice",
            "tid": "t_acme",
            "sid": "s_1",
            "scope": ALL_SCOPES,
            "roles": ["owner"],
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": f"jti_{time.monotonic_ns()}",
            "typ": "user",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def issue(
        self, *, key: OKPKey | None = None, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        key = key or self.key
        alg = (header or {}).get("alg", "Ed25519")
        return jwt.encode(
            {"alg": alg, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE, **(header or {})},
            self.claims(**claims),
            key,
            algorithms=[alg],
        )

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issue(**claims)}"}


# ------------------------------------------------------------------ fake services
Payload = dict[str, Any]
"""What an operation of a fake service receives: the command as JSON."""
Handler = Callable[[Payload, Principal | None, RequestMeta], Awaitable[Any]]
"""An operation of a fake service: ``handler(payload, principal, meta)``."""


@dataclass
class FakeService:
    """A test responder: a real ServiceRuntime whose operations the test defines."""

    name: str
    runtime: ServiceRuntime
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def operation(self, name: str, handler: Handler | None = None) -> None:
        """Answer ``name`` with ``handler(payload, principal, meta)`` (default: echo)."""
        calls = self.calls

        async def answer(body: dict[str, Any], principal: OptionalPrincipal, meta: Meta) -> Any:
            calls.append((name, body))
            if handler is not None:
                return await handler(body, principal, meta)
            return echo(body, principal, meta)

        self.runtime.rpc_router.operation(name)(answer)


def echo(body: Payload, principal: Principal | None, meta: RequestMeta) -> dict[str, Any]:
    return {
        "payload": body,
        "principal": principal.model_dump(mode="json") if principal else None,
        "meta": meta.model_dump(mode="json"),
    }


@dataclass
class FakeRefreshTokens:
    """Token pairs as auth issues them, each refresh token spent once (rotation)."""

    issued: int = 0
    spent: set[str] = field(default_factory=set)
    access_token: str | None = None
    """The access token of every pair when a test needs one the gateway verifies."""

    def pair(self) -> dict[str, Any]:
        self.issued += 1
        return {
            "access_token": self.access_token or f"at_{self.issued}",
            "refresh_token": f"rt_{self.issued}",
            "token_type": "Bearer",
            "expires_in": 600,
        }

    def rotate(self, refresh_token: str) -> dict[str, Any]:
        if refresh_token in self.spent or not refresh_token.startswith("rt_"):
            raise Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
        self.spent.add(refresh_token)
        return self.pair()

    def revoke_all(self) -> None:
        """End the (one) session: every refresh token issued is refused from now on."""
        self.spent.update(f"rt_{n}" for n in range(1, self.issued + 1))


@dataclass
class FakeAuth(FakeService):
    keys: list[OKPKey] = field(default_factory=list)
    refresh_tokens: FakeRefreshTokens = field(default_factory=FakeRefreshTokens)
    jwks_calls: int = 0
    max_age: int = 300
    logged_out: list[str | None] = field(default_factory=list)
    """The session of each logout, as the access token named it."""

    def jwks(self) -> Jwks:
        self.jwks_calls += 1
        public = [k.as_dict(private=False) | {"use": "sig", "alg": "Ed25519"} for k in self.keys]
        return Jwks(
            keys=public, etag="-".join(str(k.kid)[:8] for k in self.keys), max_age=self.max_age
        )

    async def revoke_session(
        self, session_id: str, reason: RevokeReason = "logout", *, user_id: str = "u_alice"
    ) -> None:
        """Publish ``session.revoked`` as auth does on logout, reset, role change or removal."""
        now = datetime.now(UTC)
        revoked = SessionRevoked(
            session_id=session_id,
            user_id=user_id,
            tenant_id="t_acme",
            reason=reason,
            revoked_at=now,
            expires_at=now + timedelta(minutes=10),
        )
        await self.runtime.publisher.publish(make_event(revoked, tenant_id="t_acme"))


def fake_settings(nats_url: str) -> ServiceSettings:
    return ServiceSettings(nats_url=nats_url, log_level="WARNING")


@asynccontextmanager
async def running(*services: FakeService) -> AsyncIterator[None]:
    started: list[FakeService] = []
    try:
        for service in services:
            await service.runtime.start()
            started.append(service)
        yield
    finally:
        for service in reversed(started):
            await service.runtime.stop()


def make_fake(
    nats_url: str, name: str, operations: dict[str, Handler | None] | None = None
) -> FakeService:
    """A fake ``name`` service answering ``operations`` (a handler, or None to echo)."""
    runtime = ServiceRuntime(name, fake_settings(nats_url), configure_process=False)
    fake = FakeService(name, runtime)
    for operation, handler in (operations or {}).items():
        fake.operation(operation, handler)
    return fake


def make_fake_auth(nats_url: str, signing_key: OKPKey) -> FakeAuth:
    runtime = ServiceRuntime("auth", fake_settings(nats_url), configure_process=False)
    fake = FakeAuth("auth", runtime, keys=[signing_key])

    @runtime.rpc_router.operation("jwks")
    async def jwks() -> Jwks:
        return fake.jwks()

    for operation in (
        "tenants.current",
        "tenants.members.list",
        "tenants.members.update",
        "register",
        "me",
        "oauth.token",
        "sessions.list",
    ):
        fake.operation(operation)

    async def login(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        return Reply({"mfa_required": True, "challenge_token": "c"}, status=202)

    async def logout(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        fake.logged_out.append(principal.session_id if principal else None)
        fake.refresh_tokens.revoke_all()

    async def revoke_session(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        raise NotFound("No such session.", code="session_not_found")

    async def mfa_complete(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        return fake.refresh_tokens.pair()

    async def refresh(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        return fake.refresh_tokens.rotate(body["refresh_token"])

    async def accepted(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        return None

    fake.operation("login", login)
    fake.operation("password.forgot", accepted)
    fake.operation("mfa.complete", mfa_complete)
    fake.operation("refresh", refresh)
    fake.operation("logout", logout)
    fake.operation("sessions.revoke", revoke_session)
    return fake


def make_fake_chat(nats_url: str, frames: int = 5) -> FakeService:
    fake = make_fake(nats_url, "chat", {"agents.list": None})
    runtime = fake.runtime

    async def start(
        body: Payload, principal: Principal | None, meta: RequestMeta
    ) -> dict[str, Any]:
        command = chat.StreamStart.model_validate(body)
        if command.message == "over quota":
            raise PaymentRequired("No plan includes this.", code="plan_limit_not_included")
        asyncio.get_running_loop().create_task(_publish_run(runtime, command, frames))
        return {"conversation_id": "c_1", "stream_id": command.stream_id}

    fake.operation("stream.start", start)
    return fake


async def _publish_run(runtime: ServiceRuntime, command: chat.StreamStart, deltas: int) -> None:
    subject = f"streams.chat.{command.stream_id}"
    frames: list[tuple[chat.FrameEvent, dict[str, Any]]] = [
        ("conversation", {"conversation_id": "c_1", "stream_id": command.stream_id}),
        ("agent", {"name": "triage"}),
    ]
    frames += [("delta", {"text": f"word{i} "}) for i in range(deltas)]
    if command.message == "hang":
        frames = frames[:2]
    elif command.message == "fail":
        frames.append(("error", {"code": "model_error", "message": "The model failed."}))
    else:
        frames.append(("final", {"output": "done", "agent": "triage", "usage": {}}))
    for seq, (event, data) in enumerate(frames, start=1):
        frame = chat.StreamFrame(seq=seq, event=event, data=data)
        await runtime.broker.connection.publish(subject, frame.model_dump_json().encode())
        if command.message == "slow":
            await asyncio.sleep(0.05)


def make_fake_billing(nats_url: str) -> FakeService:
    return make_fake(nats_url, "billing", {"plans.list": None, "subscription.get": None})


# ------------------------------------------------------------------ the gateway
@dataclass
class RunningGateway:
    app: FastAPI
    url: str
    client: httpx.AsyncClient
    settings: GatewaySettings

    async def metrics(self) -> httpx.Response:
        """``/metrics`` from the internal listener, where Prometheus scrapes it."""
        port = self.app.state.metrics_listener.port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as internal:
            return await internal.get("/metrics")


@asynccontextmanager
async def serve_gateway(settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    app = create_app(settings, configure_process=False)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()
            raise RuntimeError("the gateway did not start")
        return server.started

    await eventually(started, what="the gateway started", interval=0.01)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield RunningGateway(app, url, client, settings)
    finally:
        server.should_exit = True
        await task


def gateway_settings(
    nats_url: str, redis_url: str, *, tuning: dict[str, Any] | None = None, **overrides: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "nats_url": nats_url,
        "redis_url": redis_url,
        "log_level": "WARNING",
        "stripe_webhook_secrets": "whsec_current,whsec_previous",
        "metrics_port": 0,  # any free port: many gateways run at once
    }
    values.update(overrides)
    quick = {"rpc_timeout": 1.0, "ping_timeout": 0.5}
    return GatewaySettings(**values).tuned(**(quick | (tuning or {})))


class StartGateway(Protocol):
    """``async with start_gateway(**settings) as gw``: a gateway with its own settings."""

    def __call__(self, **overrides: Any) -> AbstractAsyncContextManager[RunningGateway]: ...


class SpawnFake(Protocol):
    """``await spawn_fake("chat", {"agents.list": handler})``: a responder for this test only."""

    async def __call__(self, name: str, operations: dict[str, Handler | None]) -> FakeService: ...


# ------------------------------------------------------------------ for synchronous clients
class ThreadedStack:
    """The gateway and a responder for every route, in a thread with its own event loop.

    For synchronous HTTP clients (schemathesis): every declared operation of
    auth, chat, billing and activity answers with an echo; chat streams end with ``final``.
    """

    def __init__(self, logins: BusLogins, redis_url: str, signing_key: OKPKey) -> None:
        self.logins = logins
        self.nats_url = logins.url_for(HARNESS)
        self.redis_url = redis_url
        self.tokens = TokenFactory(signing_key)
        self.url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="gateway-stack", daemon=True)

    def __enter__(self) -> ThreadedStack:
        self._thread.start()
        if not self._ready.wait(90):
            raise TimeoutError("the threaded gateway did not start")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            connection = await nats.connect(self.nats_url)
            await apply_streams(connection.jetstream(), STREAMS)
            await connection.close()
            fakes = [
                make_fake_auth(self.nats_url, self.tokens.key),
                make_fake_chat(self.nats_url),
                make_fake_billing(self.nats_url),
                make_fake(self.nats_url, "activity"),
            ]
            for fake in fakes:
                for route in ROUTES:
                    known = fake.runtime.rpc_router.operations
                    if route.service == fake.name and route.operation not in known:
                        fake.operation(route.operation)
            settings = gateway_settings(
                self.nats_url,
                self.redis_url,
                tuning={"rate_limits": generous_rate_limit_table(), "rpc_timeout": 5.0},
                **self.logins.login("gateway"),
            )
            async with running(*fakes), serve_gateway(settings) as gateway:
                self.url = gateway.url
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()


# ------------------------------------------------------------------ server-sent events
async def sse(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Events of an SSE response as dicts (``comment`` for comment lines)."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
                event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[field] = f"{event[field]}\n{value}" if field in event else value
    if event:
        yield event


async def last_event(response: httpx.Response) -> dict[str, Any]:
    """Read a stream to its end; its last event, ``data`` parsed."""
    events = [event async for event in sse(response) if "event" in event]
    return {**events[-1], "data": json.loads(events[-1]["data"])}


def set_cookies(response: httpx.Response) -> list[str]:
    """The ``Set-Cookie`` headers of the gateway's answer."""
    return response.headers.get_list("set-cookie")
