"""The gateway in the running stack: edge routes, problems, and Stripe intake onto JetStream."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from agentbus_shared.contracts import ROUTES
from agentbus_shared.testing.stack import Stack, signed_stripe_event

pytestmark = pytest.mark.e2e


def _stored_with_id(stack: Stack, event_id: str) -> int:
    async def count() -> int:
        connection = await nats.connect(stack.state["urls"]["NATS_URL"])
        try:
            js = connection.jetstream()
            info = await js.stream_info("STRIPE_WEBHOOKS")
            found = 0
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg("STRIPE_WEBHOOKS", seq)
                if message.headers and message.headers.get("Nats-Msg-Id") == event_id:
                    found += 1
            return found
        finally:
            await connection.close()

    return asyncio.run(count())


def test_gateway_is_ready_and_documents_every_route(stack: Stack) -> None:
    with stack.client() as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) >= {"nats", "redis", "auth", "chat", "billing"}
        paths = client.get("/openapi.json").json()["paths"]
    for route in ROUTES:
        assert route.method.lower() in paths[route.path]


def test_unauthenticated_call_is_a_problem_with_a_request_id(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/api/v1/auth/me", headers={"X-Request-ID": "e2e-1"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["x-request-id"] == "e2e-1"


def test_stripe_event_posted_three_times_is_on_the_stream_once(stack: Stack) -> None:
    event_id = f"evt_e2e{int(time.time() * 1000)}"
    payload, headers = signed_stripe_event(
        {"id": event_id, "object": "event", "type": "customer.created", "data": {"object": {}}},
        stack.stripe_webhook_secret(),
    )
    with stack.client() as client:
        answers = [
            client.post("/webhooks/stripe", content=payload, headers=headers) for _ in range(3)
        ]
        forged = client.post(
            "/webhooks/stripe",
            content=payload.replace(b"customer", b"invoice"),
            headers=headers,
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert forged.status_code == 400
    assert _stored_with_id(stack, event_id) == 1
