"""The live activity feed: each caller hears the new items they may see (the members' part, the
admins' part for owners and admins, the items about themselves), each item once, and the stream
ends like every stream when its session does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from faststream.nats import NatsBroker
from gateway_support import FakeAuth, TokenFactory, last_event, sse

from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.activity import ActivityItem
from agentbus_shared.contracts.subjects import ActivityAudience

FEED = "/api/v1/activity/stream"
BILLING = "/api/v1/billing/stream"
TENANT = "t_acme"


async def publish_item(
    broker: NatsBroker, item_id: str, audience: ActivityAudience, *subjects_: str
) -> None:
    """Publish a new item as the activity service does, on each of ``subjects_``."""
    item = ActivityItem(
        id=item_id,
        kind="member.changed",
        summary=f"item {item_id}",
        occurred_at=datetime.now(UTC),
        audience=audience,
    )
    for subject in subjects_:
        await broker.publish(item.model_dump_json().encode(), subject)


def person(tokens: TokenFactory, user: str, role: str) -> dict[str, str]:
    """The bearer header of ``user``, with ``role`` in the tenant, in a session of their own."""
    return tokens.bearer(sub=user, sid=f"s_{user.removeprefix('u_')}", roles=[role])


def members() -> str:
    return subjects.activity_feed(TENANT, "members")


def admins() -> str:
    return subjects.activity_feed(TENANT, "admins")


def about(user: str) -> str:
    return subjects.activity_feed_of_user(TENANT, user)


async def items(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """The stream's feed items as they arrive (heartbeats left out)."""
    async for event in sse(response):
        if "event" in event:
            assert event["event"] == "activity.item", event
            yield event


async def ids_until(response: httpx.Response, *last: str) -> list[str]:
    """The item ids the stream relays until each of ``last`` has arrived."""
    seen: list[str] = []
    async for event in items(response):
        seen.append(event["id"])
        if set(last) <= set(seen):
            return seen
    raise AssertionError(f"the stream ended after {seen}")


async def test_a_member_hears_the_members_items_and_an_admin_the_admins_too(
    client: httpx.AsyncClient, tokens: TokenFactory, broker: NatsBroker
) -> None:
    async with (
        client.stream("GET", FEED, headers=person(tokens, "u_bob", "member")) as bobs,
        client.stream("GET", FEED, headers=person(tokens, "u_alice", "admin")) as alices,
    ):
        assert bobs.status_code == alices.status_code == 200
        assert bobs.headers["content-type"].startswith("text/event-stream")
        await broker.publish(b'{"not": "an item"}', members())  # skipped, the stream goes on
        await publish_item(broker, "act_admins", "admins", admins())
        await publish_item(broker, "act_members", "members", members())
        first = await anext(items(bobs))
        alice_heard = await ids_until(alices, "act_admins", "act_members")
    assert first["id"] == "act_members"
    assert json.loads(first["data"])["summary"] == "item act_members"
    assert sorted(alice_heard) == ["act_admins", "act_members"]


async def test_a_person_hears_the_items_about_themselves_only(
    client: httpx.AsyncClient, tokens: TokenFactory, broker: NatsBroker
) -> None:
    async with client.stream("GET", FEED, headers=person(tokens, "u_bob", "member")) as bobs:
        assert bobs.status_code == 200
        await publish_item(broker, "act_carols", "admins", admins(), about("u_carol"))
        await publish_item(broker, "act_bobs", "admins", admins(), about("u_bob"))
        first = await anext(items(bobs))
    assert first["id"] == "act_bobs"


async def test_an_admin_hears_an_item_about_themselves_once(
    client: httpx.AsyncClient, tokens: TokenFactory, broker: NatsBroker
) -> None:
    async with client.stream("GET", FEED, headers=person(tokens, "u_alice", "owner")) as stream:
        assert stream.status_code == 200
        await publish_item(broker, "act_alices", "admins", admins(), about("u_alice"))
        # One more item on each subject: each subscription has delivered its copy before it.
        await publish_item(broker, "act_after_admins", "admins", admins())
        await publish_item(broker, "act_after_mine", "admins", about("u_alice"))
        heard = await ids_until(stream, "act_after_admins", "act_after_mine")
    assert heard.count("act_alices") == 1
    assert len(heard) == 3


async def test_the_feed_is_for_people_not_service_accounts(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    account = tokens.bearer(sub="sa_1", sid="sa_1", typ="service_account", roles=[])
    refused = await client.get(FEED, headers=account)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(FEED)).status_code == 401


@pytest.mark.parametrize(
    "settings_overrides", [{"tuning": {"sse_max_per_user": 1, "sse_max_per_tenant": 1}}]
)
async def test_open_feeds_leave_the_other_streams_slots_alone(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    # Every signed-in page holds a feed: it must not use up the person's or the team's streams.
    bob = person(tokens, "u_bob", "member")
    async with (
        client.stream("GET", FEED, headers=bob) as bobs_feed,
        client.stream("GET", FEED, headers=person(tokens, "u_alice", "owner")) as alices_feed,
        client.stream("GET", BILLING, headers=bob) as bobs_billing,
    ):
        assert bobs_feed.status_code == alices_feed.status_code == 200
        assert bobs_billing.status_code == 200
        second_feed = await client.get(FEED, headers=bob)
    assert second_feed.status_code == 429
    assert second_feed.json()["code"] == "too_many_streams"


async def test_the_feed_ends_at_once_when_its_session_is_revoked(
    client: httpx.AsyncClient, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    # The gateway's 15 s heartbeat is past the client's 10 s read timeout: the event ends it.
    headers = tokens.bearer(sub="u_bob", sid="s_gone", roles=["member"])
    async with client.stream("GET", FEED, headers=headers) as stream:
        assert stream.status_code == 200
        await fake_auth.revoke_session("s_gone", "role_changed", user_id="u_bob")
        ended = await last_event(stream)
    assert ended["event"] == "error"
    assert ended["data"]["code"] == "session_revoked"
