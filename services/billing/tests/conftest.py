"""Fixtures of the billing tests: the Stripe stand-in, a gateway double for webhooks, the service.

Everything is real except Stripe: NATS, PostgreSQL and Redis come from the
shared fixtures; Stripe is the stand-in (localstripe plus what it lacks),
reached over HTTP by the official client; webhooks travel signed over HTTP to
a gateway double that verifies them and publishes them to STRIPE_WEBHOOKS
exactly as the gateway does (subject ``stripe.webhooks.<type>``,
``Nats-Msg-Id`` = Stripe event id, answer only after the PubAck).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
import stripe
from aiohttp import web
from billing_support import (
    STRIPE_KEY,
    WEBHOOK_SECRET,
    GatewayDouble,
    RunningBilling,
    StandinServer,
    declare_streams,
    make_settings,
)
from faststream.nats import NatsBroker

from agentbus_billing.app import build
from agentbus_billing.settings import BillingSettings
from agentbus_shared.bus import EventPublisher, RpcClient
from agentbus_shared.contracts import subjects
from agentbus_shared.servers import free_port
from agentbus_shared.testing.plugin import BusLogins
from agentbus_stripe_standin.server import build_app, serve


# ------------------------------------------------------------------ the Stripe stand-in
@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandinServer]:
    """The stand-in on its own event loop in a thread (one per test worker)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app, standin = build_app(public_url=url, webhook_secret=WEBHOOK_SECRET)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve(app, "127.0.0.1", port))
        ready.set()
        loop.run_until_complete(stop.wait())
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, name="stripe-standin", daemon=True)
    thread.start()
    assert ready.wait(15), "the Stripe stand-in did not start"
    yield StandinServer(url, standin)
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


# ------------------------------------------------------------------ the gateway double
@pytest.fixture
async def gateway_double(broker: NatsBroker, streams: None) -> AsyncIterator[GatewayDouble]:
    """``POST /webhooks/stripe`` as the gateway serves it: verify, publish, answer after PubAck."""
    publisher = EventPublisher(broker)
    received: list[dict[str, Any]] = []

    async def intake(request: web.Request) -> web.Response:
        payload = await request.read()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("Stripe-Signature", ""), WEBHOOK_SECRET, tolerance=300
            )
        except (ValueError, stripe.SignatureVerificationError):
            return web.json_response({"detail": "bad signature"}, status=400)
        ack = await publisher.publish_raw(
            subjects.stripe_webhook(event["type"]), payload, msg_id=event["id"]
        )
        received.append({"id": event["id"], "type": event["type"], "duplicate": ack.duplicate})
        return web.json_response({"received": True, "duplicate": bool(ack.duplicate)})

    app = web.Application()
    app.router.add_post("/webhooks/stripe", intake)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield GatewayDouble(f"http://127.0.0.1:{port}", received)
    finally:
        await runner.cleanup()


@pytest.fixture
def stripe_standin(standin_server: StandinServer, gateway_double: GatewayDouble) -> StandinServer:
    """A fresh stand-in whose webhooks reach this test's gateway double."""
    standin_server.reset(gateway_double.webhook_url)
    return standin_server


# ------------------------------------------------------------------ bus and service
@pytest.fixture(autouse=True)
def _logs_in_as_billing(monkeypatch: pytest.MonkeyPatch, bus_logins: BusLogins) -> None:
    """The service under test logs in to the bus as billing, with billing's permissions."""
    bus_logins.log_in_as(monkeypatch, "billing")


@pytest.fixture
async def streams(nats_url: str) -> None:
    """Every stream and bucket, as ``agentbus streams apply`` (and the dev stack) creates them."""
    nc = await nats.connect(nats_url)
    try:
        await declare_streams(nc.jetstream())
    finally:
        await nc.close()


async def _running(settings: BillingSettings, broker: NatsBroker) -> AsyncIterator[RunningBilling]:
    runtime = build(settings, configure_process=False)
    async with runtime.lifespan():
        await broker.connection.flush()
        yield RunningBilling(runtime, RpcClient(broker, timeout=15), EventPublisher(broker))


@pytest.fixture
async def billing(
    service_env: dict[str, str], streams: None, broker: NatsBroker
) -> AsyncIterator[RunningBilling]:
    """The billing service without Stripe (free plans, webhooks from the bus)."""
    async for running in _running(make_settings(), broker):
        yield running


@pytest.fixture
async def billing_with_stripe(
    service_env: dict[str, str], stripe_standin: StandinServer, broker: NatsBroker
) -> AsyncIterator[RunningBilling]:
    """The billing service talking to the Stripe stand-in (catalog provisioned at start)."""
    settings = make_settings(
        stripe_api_key=STRIPE_KEY,
        stripe_api_base=stripe_standin.url,
        stripe_setup_on_start=True,
    )
    async for running in _running(settings, broker):
        yield running
