"""The gateway's fixtures: a gateway served by uvicorn on a free port, over real NATS and Redis,
with fake services answering on the bus (see ``support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import httpx
import nats
import pytest
from gateway_support import (
    FakeAuth,
    FakeService,
    Handler,
    RunningGateway,
    SpawnFake,
    StartGateway,
    ThreadedStack,
    TokenFactory,
    gateway_settings,
    make_fake,
    make_fake_auth,
    make_fake_billing,
    make_fake_chat,
    running,
    serve_gateway,
)
from joserfc.jwk import OKPKey

from agentbus_shared.bus import apply_streams
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.servers import RedisServer
from agentbus_shared.testing.plugin import BusLogins, SharedServer, secured_nats
from agentbus_shared.testing.waiting import eventually


@pytest.fixture
def signing_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519", auto_kid=True)


@pytest.fixture
def tokens(signing_key: OKPKey) -> TokenFactory:
    return TokenFactory(signing_key)


@pytest.fixture
async def streams(nats_url: str) -> None:
    """Every stream, as ``agentbus streams apply`` declares them before the services start."""
    connection = await nats.connect(nats_url)
    try:
        await apply_streams(connection.jetstream(), STREAMS)
    finally:
        await connection.close()


@pytest.fixture
async def fake_auth(nats_url: str, signing_key: OKPKey, streams: None) -> AsyncIterator[FakeAuth]:
    fake = make_fake_auth(nats_url, signing_key)
    async with running(fake):
        yield fake


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the gateway's settings."""
    return {}


@pytest.fixture
async def gateway(
    nats_url: str,
    redis_url: str,
    fake_auth: FakeAuth,
    settings_overrides: dict[str, Any],
    bus_logins: BusLogins,
) -> AsyncIterator[RunningGateway]:
    overrides = bus_logins.login("gateway") | settings_overrides
    async with serve_gateway(gateway_settings(nats_url, redis_url, **overrides)) as gw:
        # Its first key fetch may outlast the tests' short RPC timeout on a busy machine; a
        # test's first request must not be the one that finds the gateway without auth's keys.
        await eventually(
            lambda: gw.app.state.keys.snapshot is not None,
            what="the gateway holds auth's keys",
            timeout=30,
        )
        yield gw


@pytest.fixture
def client(gateway: RunningGateway) -> httpx.AsyncClient:
    return gateway.client


# ------------------------------------------------------------------ helpers as fixtures
@pytest.fixture
def start_gateway(
    nats_url: str, redis_url: str, streams: None, bus_logins: BusLogins
) -> StartGateway:
    """``async with start_gateway(**settings) as gw`` for tests that need their own settings."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[RunningGateway]:
        servers = {"nats_url": nats_url, "redis_url": redis_url, **bus_logins.login("gateway")}
        return serve_gateway(gateway_settings(**(servers | overrides)))

    return start


@pytest.fixture
async def fake_chat(nats_url: str) -> AsyncIterator[FakeService]:
    fake = make_fake_chat(nats_url)
    async with running(fake):
        yield fake


@pytest.fixture
async def fake_billing(nats_url: str) -> AsyncIterator[FakeService]:
    fake = make_fake_billing(nats_url)
    async with running(fake):
        yield fake


@pytest.fixture
async def spawn_fake(nats_url: str) -> AsyncIterator[SpawnFake]:
    """``await spawn_fake("chat", {"agents.list": handler})``: a responder for this test only."""
    async with AsyncExitStack() as stack:

        async def spawn(name: str, operations: dict[str, Handler | None]) -> FakeService:
            fake = make_fake(nats_url, name, operations)
            await stack.enter_async_context(running(fake))
            return fake

        yield spawn


@pytest.fixture(scope="module")
def gateway_thread(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer | SharedServer
) -> Iterator[ThreadedStack]:
    """A gateway for a whole module (its own nats-server), driven from synchronous code."""
    nats_server, logins = secured_nats(tmp_path_factory.mktemp("nats") / "data")
    nats_server.start()
    try:
        key = OKPKey.generate_key("Ed25519", auto_kid=True)
        with ThreadedStack(logins, redis_server.url, key) as stack:
            yield stack
    finally:
        nats_server.stop()
    assert not nats_server.permission_violations()
