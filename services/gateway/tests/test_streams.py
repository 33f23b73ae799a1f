"""Server-sent events: chat runs and billing events relayed from NATS, in order, cleanly ended;
no stream outlives its access token or its session."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from faststream.nats import NatsBroker
from gateway_support import (
    FakeAuth,
    FakeService,
    RunningGateway,
    StartGateway,
    TokenFactory,
    last_event,
    sse,
)

from agentbus_gateway.revocation import RevokedSessions
from agentbus_gateway.sse import Inbox, SseEvent, error_event, relay
from agentbus_gateway.streams import chat_frame_event
from agentbus_shared.contracts.billing import SubscriptionChanged
from agentbus_shared.contracts.events import make_event
from agentbus_shared.testing.waiting import eventually

STREAM = "/api/v1/chat/stream"
BILLING = "/api/v1/billing/stream"


async def collect(
    client: httpx.AsyncClient, headers: dict[str, str], message: str
) -> list[dict[str, str]]:
    async with client.stream("POST", STREAM, json={"message": message}, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return [event async for event in sse(r)]


async def test_chat_stream_relays_frames_in_order_and_ends_with_one_terminal_event(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_chat: FakeService
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
    client: httpx.AsyncClient, tokens: TokenFactory, fake_chat: FakeService
) -> None:
    events = await collect(client, tokens.bearer(), "fail")
    assert events[-1]["event"] == "error"
    assert json.loads(events[-1]["data"]) == {"code": "model_error", "message": "The model failed."}
    assert [e["event"] for e in events].count("error") == 1
    assert "final" not in [e["event"] for e in events]


async def test_chat_refused_before_the_run_is_a_problem_not_a_stream(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_chat: FakeService
) -> None:
    response = await client.post(STREAM, json={"message": "over quota"}, headers=tokens.bearer())
    assert response.status_code == 402
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "plan_limit_not_included"


async def test_chat_stream_needs_the_write_scope(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_chat: FakeService
) -> None:
    response = await client.post(
        STREAM, json={"message": "hi"}, headers=tokens.bearer(scope="conversations:read")
    )
    assert response.status_code == 403


async def test_chat_stream_with_chat_away_is_503(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.post(STREAM, json={"message": "hi"}, headers=tokens.bearer())
    assert response.status_code == 503


async def test_silent_run_gets_heartbeats_then_ends_with_an_error(
    start_gateway: StartGateway, fake_auth: FakeAuth, fake_chat: FakeService, tokens: TokenFactory
) -> None:
    async with start_gateway(tuning={"sse_heartbeat": 0.1, "sse_idle_timeout": 0.5}) as gw:
        events = await collect(gw.client, tokens.bearer(), "hang")
    assert [e.get("event") for e in events[:2]] == ["conversation", "agent"]
    assert {"comment": "keep-alive"} in events
    assert events[-1]["event"] == "error"
    assert json.loads(events[-1]["data"])["code"] == "upstream_timeout"


async def test_silent_stream_asks_whether_its_run_lives_and_ends_when_it_is_lost() -> None:
    answers = [None, None, error_event("run_lost", "gone")]
    asked: list[float] = []

    async def on_silence() -> SseEvent | None:
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
    client: httpx.AsyncClient, tokens: TokenFactory, broker: NatsBroker
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
    return {"tuning": {"sse_max_per_user": 1, "sse_heartbeat": 0.2}}


async def test_open_streams_are_capped_per_user(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    async with client.stream("GET", BILLING, headers=tokens.bearer(sub="u_1")) as first:
        assert first.status_code == 200
        second = await client.get(BILLING, headers=tokens.bearer(sub="u_1"))
        other_user = client.stream("GET", BILLING, headers=tokens.bearer(sub="u_2"))
        async with other_user as third:
            assert third.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "too_many_streams"


async def test_client_that_leaves_frees_its_slot_and_subscription(
    gateway: RunningGateway, tokens: TokenFactory, redis_client: aioredis.Redis
) -> None:
    headers = tokens.bearer(sub="u_gone")
    async with (
        httpx.AsyncClient(base_url=gateway.url) as leaving,
        leaving.stream("GET", BILLING, headers=headers) as response,
    ):
        assert response.status_code == 200
        await anext(e async for e in sse(response))  # a heartbeat: the stream is live

    async def slot_freed() -> bool:
        return await redis_client.zcard("gateway:sse:user:u_gone") == 0

    await eventually(slot_freed, what="the stream's slot is freed", timeout=2.5)
    metrics = (await gateway.metrics()).text
    assert 'agentbus_gateway_open_streams{kind="billing"} 0.0' in metrics
    # The slot is free again: the same user may open a new stream at once.
    async with gateway.client.stream("GET", BILLING, headers=headers) as again:
        assert again.status_code == 200


# ------------------------------------------------------------------ stream lifetimes
# These gateways keep the default 15 s heartbeat, past the client's 10 s read timeout: a stream
# that ends in time was ended by the revocation itself, not by the heartbeat's Redis check.


async def publish_billing_event(broker: NatsBroker) -> str:
    event = make_event(
        SubscriptionChanged(tenant_id="t_acme", plan="pro", status="active"), tenant_id="t_acme"
    )
    await broker.publish(event.to_bytes(), event.nats_subject)
    return event.id


async def test_billing_stream_ends_at_once_when_its_session_is_revoked(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory, broker: NatsBroker
) -> None:
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=tokens.bearer(sid="s_gone")) as gone,
        gw.client.stream("GET", BILLING, headers=tokens.bearer(sid="s_kept")) as kept,
    ):
        assert gone.status_code == kept.status_code == 200
        await fake_auth.revoke_session("s_gone", "logout")
        ended = await last_event(gone)
        # The same user's other session keeps its stream, and its events.
        event_id = await publish_billing_event(broker)
        received = await anext(e async for e in sse(kept) if "event" in e)
    assert ended["event"] == "error"
    assert ended["data"]["code"] == "session_revoked"
    assert received["id"] == event_id


async def test_logout_through_the_gateway_ends_the_sessions_streams_at_once(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    leaving = tokens.bearer(sid="s_leaving")
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=leaving) as stream,
    ):
        assert stream.status_code == 200
        # The fake auth publishes no session.revoked: the gateway's own logout ends the stream.
        assert (await gw.client.post("/api/v1/auth/logout", headers=leaving)).status_code == 204
        ended = await last_event(stream)
    assert ended["data"]["code"] == "session_revoked"


async def test_chat_stream_ends_at_once_when_its_session_is_revoked(
    start_gateway: StartGateway, fake_auth: FakeAuth, fake_chat: FakeService, tokens: TokenFactory
) -> None:
    headers = tokens.bearer(sid="s_chatting")
    async with (
        start_gateway() as gw,
        gw.client.stream("POST", STREAM, json={"message": "hang"}, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        events = sse(stream)
        assert (await anext(e async for e in events if "event" in e))["event"] == "conversation"
        await fake_auth.revoke_session("s_chatting", "password_reset")
        rest = [event async for event in events if "event" in event]
    assert rest[-1]["event"] == "error"
    assert json.loads(rest[-1]["data"])["code"] == "session_revoked"
    assert "final" not in [e["event"] for e in rest]


async def test_member_removed_from_the_tenant_loses_its_open_stream(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    member = tokens.bearer(sub="u_bob", sid="s_bob", roles=["member"])
    async with start_gateway() as gw:
        async with gw.client.stream("GET", BILLING, headers=member) as stream:
            assert stream.status_code == 200
            # What auth publishes for each of the member's sessions in the tenant on removal.
            await fake_auth.revoke_session("s_bob", "member_removed", user_id="u_bob")
            ended = await last_event(stream)
        refused = await gw.client.get(BILLING, headers=member)
    assert ended["data"]["code"] == "session_revoked"
    assert refused.status_code == 401


async def test_revoked_service_account_loses_its_open_stream(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    # A service account's tokens carry its id as sid; revoking it revokes that "session".
    account = tokens.bearer(sub="sa_1", sid="sa_1", typ="service_account", roles=[])
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=account) as stream,
    ):
        assert stream.status_code == 200
        await fake_auth.revoke_session("sa_1", "service_account_revoked", user_id="sa_1")
        ended = await last_event(stream)
    assert ended["data"]["code"] == "session_revoked"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", BILLING, None), ("POST", STREAM, {"message": "hang"})],
    ids=["billing", "chat"],
)
async def test_stream_ends_when_its_access_token_expires(
    start_gateway: StartGateway,
    fake_auth: FakeAuth,
    fake_chat: FakeService,
    tokens: TokenFactory,
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    headers = tokens.bearer(exp=int(time.time()) + 3)
    async with (
        start_gateway(tuning={"token_leeway": 0}) as gw,
        gw.client.stream(method, path, json=body, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        ended = await last_event(stream)
    assert ended["event"] == "error"
    assert ended["data"]["code"] == "token_expired"


async def test_every_replica_ends_its_own_streams_of_a_revoked_session(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    headers = tokens.bearer(sid="s_everywhere")
    async with AsyncExitStack() as stack:
        replicas = [await stack.enter_async_context(start_gateway()) for _ in range(2)]
        streams = [
            await stack.enter_async_context(gw.client.stream("GET", BILLING, headers=headers))
            for gw in replicas
        ]
        assert [s.status_code for s in streams] == [200, 200]
        # One replica stores the revocation (shared durable consumer); every one hears of it.
        await fake_auth.revoke_session("s_everywhere", "logout")
        endings = await asyncio.gather(*(last_event(s) for s in streams))
    assert [e["data"]["code"] for e in endings] == ["session_revoked", "session_revoked"]


async def test_stream_whose_revocation_this_replica_missed_ends_at_its_next_heartbeat(
    start_gateway: StartGateway,
    fake_auth: FakeAuth,
    tokens: TokenFactory,
    redis_client: aioredis.Redis,
) -> None:
    async with (
        start_gateway(tuning={"sse_heartbeat": 0.2}) as gw,
        gw.client.stream("GET", BILLING, headers=tokens.bearer(sid="s_missed")) as stream,
    ):
        assert stream.status_code == 200
        # Stored by another replica while this one's NATS connection was down: no event here.
        until = datetime.now(UTC) + timedelta(minutes=10)
        assert await RevokedSessions(redis_client).revoke("s_missed", until=until)
        ended = await last_event(stream)
    assert ended["data"]["code"] == "session_revoked"
