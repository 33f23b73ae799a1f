"""Stripe intake: verified events are stored once on STRIPE_WEBHOOKS before the 200."""

from __future__ import annotations

import json
import time

import httpx
from faststream.nats import NatsBroker

from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.testing.stack import stripe_signature

URL = "/webhooks/stripe"


def stripe_event(event_id: str = "evt_1QabcDEF", event_type: str = "invoice.paid") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": {"id": "in_123", "object": "invoice", "status": "paid"}},
        }
    ).encode()


async def stored(broker: NatsBroker) -> int:
    info = await broker.connection.jetstream().stream_info(STRIPE_WEBHOOKS.name)
    return int(info.state.messages)


async def test_event_posted_three_times_is_stored_exactly_once(
    client: httpx.AsyncClient, broker: NatsBroker
) -> None:
    payload = stripe_event()
    headers = {"Stripe-Signature": stripe_signature(payload, "whsec_current")}
    answers = [await client.post(URL, content=payload, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json() for a in answers] == [
        {"received": True, "duplicate": False},
        {"received": True, "duplicate": True},
        {"received": True, "duplicate": True},
    ]
    assert await stored(broker) == 1
    message = await broker.connection.jetstream().get_msg(STRIPE_WEBHOOKS.name, 1)
    assert message.subject == "stripe.webhooks.invoice.paid"
    assert message.data == payload
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == "evt_1QabcDEF"


async def test_bad_signature_is_rejected_and_never_published(
    client: httpx.AsyncClient, broker: NatsBroker
) -> None:
    payload = stripe_event()
    cases = [
        {"Stripe-Signature": stripe_signature(payload, "whsec_someone_else")},
        {"Stripe-Signature": stripe_signature(payload + b" ", "whsec_current")[:-2] + "00"},
        {
            "Stripe-Signature": stripe_signature(
                payload, "whsec_current", timestamp=int(time.time()) - 600
            )
        },
        {"Stripe-Signature": "garbage"},
        {},
    ]
    for headers in cases:
        response = await client.post(URL, content=payload, headers=headers)
        assert response.status_code == 400, headers
        assert response.json()["code"] == "invalid_signature"
    assert await stored(broker) == 0


async def test_previous_secret_is_accepted_during_a_rotation(
    client: httpx.AsyncClient, broker: NatsBroker
) -> None:
    payload = stripe_event("evt_rotated")
    response = await client.post(
        URL,
        content=payload,
        headers={"Stripe-Signature": stripe_signature(payload, "whsec_previous")},
    )
    assert response.status_code == 200
    assert await stored(broker) == 1


async def test_signed_payload_that_is_no_event_is_refused(
    client: httpx.AsyncClient, broker: NatsBroker
) -> None:
    for payload in (b"not json", json.dumps({"id": "evt_1", "type": "a.>"}).encode()):
        response = await client.post(
            URL,
            content=payload,
            headers={"Stripe-Signature": stripe_signature(payload, "whsec_current")},
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_payload"
    assert await stored(broker) == 0


async def test_without_a_durable_ack_the_answer_is_503(
    client: httpx.AsyncClient, broker: NatsBroker
) -> None:
    await broker.connection.jetstream().delete_stream(STRIPE_WEBHOOKS.name)
    payload = stripe_event()
    response = await client.post(
        URL,
        content=payload,
        headers={"Stripe-Signature": stripe_signature(payload, "whsec_current")},
    )
    assert response.status_code == 503
    assert "retry-after" in response.headers
