"""Server-sent events: chat runs and billing events relayed from NATS, in order, cleanly ended."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from agentbus_gateway.sse import Inbox, error_event, relay
from agentbus_gateway.streams import chat_frame_event
from agentbus_shared.contracts.billing import SubscriptionChanged
from agentbus_shared.contracts.events import make_event

STREAM = "/api/v1/chat/stream"
BILLING = "/api/v1/billing/stream"


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


async def collect(client: httpx.AsyncClient, headers: dict[str, str], message: str) -> list[Any]:
    async with client.stream("POST", STREAM, json={"message": message}, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return [event async for event in sse(r)]


async def test_chat_stream_relays_frames_in_order_and_ends_with_one_terminal_event(
    client: Any, tokens: Any, fake_chat: Any
) -> None:
    events = await collect(client, tokens.bearer(), "hello")
    names = [e["event"] for e in events]
    assert names == ["conversation", "agent", *["delta"] * 5, "final"]
    assert [int(e["id"]) for e in events] == list(range(1, 9))
    assert json.loads(events[0]["data"])["conversation_id"] == "c_1"
    assert "".join(json.loads(e["data"])["text"] for e in events if e["event"] == "delta") == (
        "word0 word1 word2 word3 word4 "
    )
    assert json.loads(events[-1]["data"])["output"] == "done"
    start = next(call for call in fake_chat.calls if call[0] == "stream.start")
    assert start[1]["message"] == "hello"
    assert start[1]["stream_id"].startswith("stm_")


async def test_chat_error_frame_is_the_one_terminal_event(
    client: Any, tokens: Any, fake_chat: Any
) -> None:
    events = await collect(client, tokens.bearer(), "fail")
    assert events[-1]["event"] == "error"
    assert json.loads(events[-1]["data"]) == {"code": "model_error", "message": "The model failed."}
    assert [e["event"] for e in events].count("error") == 1
    assert "final" not in [e["event"] for e in events]


async def test_chat_refused_before_the_run_is_a_problem_not_a_stream(
    client: Any, tokens: Any, fake_chat: Any
) -> None:
    response = await client.post(STREAM, json={"message": "over quota"}, headers=tokens.bearer())
    assert response.status_code == 402
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "plan_limit_not_included"


async def test_chat_stream_needs_the_write_scope(client: Any, tokens: Any, fake_chat: Any) -> None:
    response = await client.post(
        STREAM, json={"message": "hi"}, headers=tokens.bearer(scope="conversations:read")
    )
    assert response.status_code == 403


async def test_chat_stream_with_chat_away_is_503(client: Any, tokens: Any) -> None:
    response = await client.post(STREAM, json={"message": "hi"}, headers=tokens.bearer())
    assert response.status_code == 503


async def test_silent_run_gets_heartbeats_then_ends_with_an_error(
    start_gateway: Any, fake_auth: Any, fake_chat: Any, tokens: Any
) -> None:
    async with start_gateway(sse_heartbeat=0.1, sse_idle_timeout=0.5) as gw:
        events = await collect(gw.client, tokens.bearer(), "hang")
    assert [e.get("event") for e in events[:2]] == ["conversation", "agent"]
    assert {"comment": "keep-alive"} in events
    assert events[-1]["event"] == "error"
    assert json.loads(events[-1]["data"])["code"] == "upstream_timeout"


async def test_silent_stream_asks_whether_its_run_lives_and_ends_when_it_is_lost() -> None:
    answers = [None, None, error_event("run_lost", "gone")]
    asked: list[float] = []

    async def on_silence() -> Any:
        asked.append(asyncio.get_running_loop().time())
        return answers[len(asked) - 1]

    chunks = [
        chunk
        async for chunk in relay(
            Inbox(4), chat_frame_event, heartbeat=0.15, on_silence=on_silence, silence_check=0.05
        )
    ]
    assert len(asked) == 3  # asked after each silence until the answer said the run was lost
    assert chunks[-1].startswith(b"event: error\n")
    assert b'"run_lost"' in chunks[-1]
    assert all(chunk == b": keep-alive\n\n" for chunk in chunks[:-1])


async def test_slow_client_ends_its_stream_with_an_error_instead_of_buffering() -> None:
    inbox = Inbox(size=3)

    class Frame:
        def __init__(self, seq: int) -> None:
            self.data = json.dumps({"seq": seq, "event": "delta", "data": {"text": "x"}}).encode()
            self.subject = "streams.chat.x"

    for seq in range(1, 10):  # the client has read nothing while nine frames arrived
        await inbox.put(Frame(seq))  # type: ignore[arg-type]
    chunks = [chunk async for chunk in relay(inbox, chat_frame_event, heartbeat=5)]
    assert len(chunks) == 1
    assert chunks[0].startswith(b"event: error\n")
    assert b'"slow_consumer"' in chunks[0]


async def test_billing_stream_relays_the_tenants_events_only(
    client: Any, tokens: Any, broker: Any
) -> None:
    mine = make_event(
        SubscriptionChanged(tenant_id="t_acme", plan="pro", status="active"), tenant_id="t_acme"
    )
    theirs = make_event(
        SubscriptionChanged(tenant_id="t_other", plan="pro", status="active"), tenant_id="t_other"
    )
    async with client.stream("GET", BILLING, headers=tokens.bearer(tid="t_acme")) as response:
        assert response.status_code == 200
        for event in (theirs, mine):
            await broker.publish(event.to_bytes(), event.nats_subject)
        received = await anext(e async for e in sse(response) if "event" in e)
    assert received["event"] == "subscription.changed"
    assert received["id"] == mine.id
    assert json.loads(received["data"])["data"]["plan"] == "pro"
    assert json.loads(received["data"])["tenantid"] == "t_acme"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"sse_max_per_user": 1, "sse_heartbeat": 0.2}


async def test_open_streams_are_capped_per_user(client: Any, tokens: Any) -> None:
    async with client.stream("GET", BILLING, headers=tokens.bearer(sub="u_1")) as first:
        assert first.status_code == 200
        second = await client.get(BILLING, headers=tokens.bearer(sub="u_1"))
        other_user = client.stream("GET", BILLING, headers=tokens.bearer(sub="u_2"))
        async with other_user as third:
            assert third.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "too_many_streams"


async def test_client_that_leaves_frees_its_slot_and_subscription(
    gateway: Any, tokens: Any, redis_url: str
) -> None:
    headers = tokens.bearer(sub="u_gone")
    async with (
        httpx.AsyncClient(base_url=gateway.url) as leaving,
        leaving.stream("GET", BILLING, headers=headers) as response,
    ):
        assert response.status_code == 200
        await anext(e async for e in sse(response))  # a heartbeat: the stream is live
    redis = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(50):
            if await redis.zcard("gateway:sse:user:u_gone") == 0:
                break
            await asyncio.sleep(0.05)
        assert await redis.zcard("gateway:sse:user:u_gone") == 0
    finally:
        await redis.aclose()
    metrics = (await gateway.client.get("/metrics")).text
    assert 'agentbus_gateway_open_streams{kind="billing"} 0.0' in metrics
    # The slot is free again: the same user may open a new stream at once.
    async with gateway.client.stream("GET", BILLING, headers=headers) as again:
        assert again.status_code == 200
