"""Garbage on the subjects of every durable consumer: dead-lettered at once, nothing stalls.

For each durable consumer the services declare (the auth mailer and plan follower, billing's
tenant, usage and Stripe consumers, the gateway's session revocations and tenant status, the
deprovisioning's steps, the activity feed's readers of whole streams), malformed messages are
published straight to its stream: not JSON, invalid UTF-8, deep nesting, an empty body, JSON of the
wrong shape, a CloudEvent with the wrong data. Each must be copied to ``DEAD_LETTERS`` on its first
delivery (no retry loop on a poison message), and the valid events the system produces afterwards
(a sign-up, a tenant suspended, reactivated and deprovisioned, a chat, a logout, a signed Stripe
webhook) must still be processed: every consumer drains past the garbage and dead-letters nothing
else. No process dies.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import nats
import pytest
from fuzz_support import WEBHOOK_SECRET, assert_still_whole, service_pids
from nats.js.api import ConsumerInfo

from agentbus_shared.bus.consumers import DurableConsumer
from agentbus_shared.contracts.streams import DEAD_LETTERS
from agentbus_shared.testing.checkout import api_docs_generator
from agentbus_shared.testing.stack import Stack, signed_stripe_event
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(300)]

TENANT = "t_01JFUZZP0150N000000000000"
EMAIL = "poison@example.com"
LEAVING = "leaving@example.com"
PASSWORD = "glacier-violin-tangerine-42"

GARBAGE: list[tuple[str, bytes, str]] = [
    ("not JSON", b"this is not json {", "application/json"),
    ("not JSON, as a CloudEvent", b"{'id': 1}", "application/cloudevents+json"),
    ("invalid UTF-8", b"\xff\xfe\xfd\x00", "application/json"),
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000, "application/json"),
    ("empty body", b"", "application/json"),
    ("a JSON array", b"[1, 2, 3]", "application/cloudevents+json"),
    ("JSON null", b"null", "application/json"),
    (
        "a CloudEvent with the wrong data",
        json.dumps(
            {
                "specversion": "1.0",
                "id": "evt-poison",
                "source": "fuzz",
                "type": "io.agentbus.fuzz",
                "time": "not a time",
                "data": {"tenant_id": ["not", "a", "string"]},
            }
        ).encode(),
        "application/cloudevents+json",
    ),
    ("NUL characters", b'{"id": "evt_\\u0000", "data": "\\u0000"}', "application/json"),
]


def concrete(filter_subject: str) -> str:
    """A subject the consumer's filter matches (Stripe types contain dots: ``>`` stays rich)."""
    return filter_subject.replace("*", TENANT).replace(">", "invoice.paid")


def consumers() -> list[DurableConsumer]:
    found = [
        c for runtime in api_docs_generator().build_runtimes().values() for c in runtime.consumers
    ]
    assert len(found) >= 6, found
    return found


def matches(filter_subject: str, subject: str) -> bool:
    """Whether a consumer filtered to ``filter_subject`` receives ``subject`` (NATS wildcards)."""
    wanted, tokens = filter_subject.split("."), subject.split(".")
    for n, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > n
        if n >= len(tokens) or token not in ("*", tokens[n]):
            return False
    return len(tokens) == len(wanted)


async def publish_garbage(nats_url: str, targets: list[DurableConsumer]) -> dict[str, set[int]]:
    """Every garbage message to every consumer's subject; the stream sequences each consumer
    receives (a consumer of a whole stream, as the activity feed's, receives the others' too)."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    published: list[tuple[str, str, int]] = []
    try:
        for consumer in targets:
            subject = concrete(consumer.subject)
            for _name, body, content_type in GARBAGE:
                ack = await js.publish(
                    subject,
                    body,
                    timeout=5,
                    headers={"content-type": content_type, "Nats-Msg-Id": uuid.uuid4().hex},
                )
                published.append((ack.stream, subject, ack.seq))
    finally:
        await client.close()
    return {
        consumer.name: {
            seq
            for stream, subject, seq in published
            if stream == consumer.stream.name and matches(consumer.subject, subject)
        }
        for consumer in targets
    }


def charge_succeeded() -> dict[str, Any]:
    """A valid Stripe event for billing's Stripe consumer (with a NUL character in a note)."""
    return {
        "id": f"evt_fuzz{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "charge.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "ch_fuzz", "object": "charge", "note": "a\u0000b"}},
    }


def valid_activity(stack: Stack) -> None:
    """Events for every consumer, produced the ordinary way: over HTTP."""
    with stack.client() as client:
        registered = client.post(
            "/api/v1/auth/register",
            json={"email": EMAIL, "password": PASSWORD, "tenant_name": "Poison"},
        )
        assert registered.status_code == 201, registered.text
        auth = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}
        # the auth mailer delivered the verification mail: it processed a valid event
        code = stack.mailed_code(EMAIL, "verify_email")
        verified = client.post("/api/v1/auth/email/verify", json={"code": code}, headers=auth)
        assert verified.status_code == 204, verified.text
        tenant_lifecycle(stack, client)
        chatted = client.post("/api/v1/chat", json={"message": "Hello!"}, headers=auth)
        assert chatted.status_code == 200, chatted.text
        body, headers = signed_stripe_event(charge_succeeded(), WEBHOOK_SECRET)
        hook = client.post("/webhooks/stripe", content=body, headers=headers)
        assert hook.status_code == 200, hook.text
        assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204


def tenant_lifecycle(stack: Stack, client: httpx.Client) -> None:
    """Another tenant suspended, reactivated and deprovisioned by the poison tenant's owner made
    an operator: the events the tenant lifecycle's and the deprovisioning's consumers read."""
    stack.agentbus("auth", "operators", "grant", EMAIL)
    login = client.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    operator = {"Authorization": f"Bearer {login.json()['access_token']}"}
    leaving = client.post(
        "/api/v1/auth/register",
        json={"email": LEAVING, "password": PASSWORD, "tenant_name": "Leaving"},
    )
    assert leaving.status_code == 201, leaving.text
    page = f"/api/v1/platform/tenants/{leaving.json()['tenant']['id']}"
    for step, body in (("suspend", {"reason": "poison"}), ("reactivate", None)):
        answer = client.post(f"{page}/{step}", json=body, headers=operator)
        assert answer.status_code == 200, answer.text
    deleting = client.delete(page, headers=operator)
    assert deleting.status_code == 202, deleting.text


async def consumer_states(nats_url: str, targets: list[DurableConsumer]) -> dict[str, ConsumerInfo]:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        return {c.name: await js.consumer_info(c.stream.name, c.name) for c in targets}
    finally:
        await client.close()


async def last_dead_letter(nats_url: str) -> int:
    """The sequence of the newest copy in ``DEAD_LETTERS`` (0 when there is none)."""
    client = await nats.connect(nats_url)
    try:
        return int((await client.jetstream().stream_info(DEAD_LETTERS.name)).state.last_seq)
    finally:
        await client.close()


async def dead_letters(nats_url: str, *, after: int) -> list[dict[str, str]]:
    """The headers of every copy in ``DEAD_LETTERS`` past sequence ``after`` (the suite's other
    tests share the stack); advisories carry no Ab-Dlq headers."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        info = await js.stream_info(DEAD_LETTERS.name)
        letters = []
        for seq in range(max(info.state.first_seq, after + 1), info.state.last_seq + 1):
            try:
                message = await js.get_msg(DEAD_LETTERS.name, seq)
            except nats.js.errors.NotFoundError:
                continue
            letters.append(dict(message.headers or {}) | {"subject": message.subject or ""})
        return letters
    finally:
        await client.close()


Lettered = dict[tuple[str | None, int], dict[str, str]]
"""Dead letters by the consumer and stream sequence of the message they copy."""


def test_poison_messages_are_dead_lettered_at_once_and_valid_ones_still_flow(
    fuzz_stack: Stack,
) -> None:
    nats_url = fuzz_stack.state["urls"]["NATS_URL"]
    targets = consumers()
    pids = service_pids(fuzz_stack)
    before = asyncio.run(last_dead_letter(nats_url))

    garbage = asyncio.run(publish_garbage(nats_url, targets))
    valid_activity(fuzz_stack)

    # Every garbage message is dead-lettered on its first delivery.
    expected = {(c.name, seq) for c in targets for seq in garbage[c.name]}

    def every_garbage_message_lettered() -> tuple[list[dict[str, str]], Lettered]:
        letters = asyncio.run(dead_letters(nats_url, after=before))
        lettered = {
            (letter.get("Ab-Dlq-Consumer"), int(letter.get("Ab-Dlq-Sequence", 0))): letter
            for letter in letters
            if "Ab-Dlq-Consumer" in letter
        }
        missing = sorted(expected - set(lettered))
        assert not missing, f"garbage not dead-lettered (consumer, stream seq): {missing}"
        return letters, lettered

    letters, lettered = eventually_blocking(
        every_garbage_message_lettered,
        what="every garbage message dead-lettered",
        timeout=45,
        interval=0.5,
        ignoring=(AssertionError,),
    )
    retried = {key: v["Ab-Dlq-Deliveries"] for key, v in lettered.items() if key in expected}
    assert set(retried.values()) == {"1"}, f"poison retried before dead-lettering: {retried}"
    advisories = [letter for letter in letters if "MAX_DELIVERIES" in letter["subject"]]
    assert not advisories, advisories

    # The valid events behind the garbage are processed: each consumer drains past it, and
    # nothing else is dead-lettered.
    def every_consumer_past_the_garbage() -> bool:
        states = asyncio.run(consumer_states(nats_url, targets))
        behind = {
            name: (info.num_pending, info.num_ack_pending, info.delivered.stream_seq)
            for name, info in states.items()
            if info.num_pending
            or info.num_ack_pending
            or info.delivered.stream_seq <= max(garbage[name])
        }
        assert not behind, (
            f"consumers stuck behind the garbage (pending, unacked, last seq): {behind}"
        )
        return True

    eventually_blocking(
        every_consumer_past_the_garbage,
        what="every consumer drained past the garbage",
        timeout=60,
        interval=0.5,
        ignoring=(AssertionError,),
    )
    others = sorted(set(lettered) - expected)
    assert not others, f"valid events were dead-lettered: {[lettered[k] for k in others]}"

    assert_still_whole(fuzz_stack, pids)
