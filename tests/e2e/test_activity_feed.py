"""The product journey's actions in the owner's activity feed, live: with the feed's stream open
at the gateway, a conversation deleted, a teammate joining and made an admin (which ends their
session), a paid plan bought at checkout with its invoice, the plan's limit reached and the
owner's own sign-out each arrive as an ``activity.item`` without asking, once each; the feed's
list holds them all and counts them unread, and another tenant's open feed hears none of it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from e2e_support import (
    PASSWORD,
    STARTER_MESSAGES,
    StreamWatch,
    bearer,
    member_of,
    pay_at_checkout,
    register,
    verified_owner,
)

from agentbus_shared.testing.stack import SseEvent, Stack
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = pytest.mark.e2e

FEED = "/api/v1/activity/stream"
OWNER = "ada@feed.example"


def item_of(watch: StreamWatch, kind: str, what: str, **subject: str) -> dict[str, Any]:
    """The first live item of ``kind`` whose subject holds ``subject``, once it has arrived."""

    def matches(event: SseEvent) -> bool:
        item = event.data
        return (
            event.event == "activity.item"
            and item["kind"] == kind
            and subject.items() <= (item.get("subject") or {}).items()
        )

    item: dict[str, Any] = watch.wait_for(matches, what).data
    return item


def items_about(watch: StreamWatch, kind: str, subject_id: str) -> list[dict[str, Any]]:
    """The live items of ``kind`` about ``subject_id`` so far."""
    return [
        event.data
        for event in list(watch.events)
        if event.event == "activity.item"
        and event.data["kind"] == kind
        and (event.data.get("subject") or {}).get("id") == subject_id
    ]


def ok(reply: httpx.Response, status: int = 200) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json() if reply.content else None


def delete_a_conversation(client: httpx.Client, owner: dict[str, str], feed: StreamWatch) -> None:
    chat = ok(client.post("/api/v1/chat", json={"message": "Plan the garden"}, headers=owner))
    conversation = chat["conversation_id"]
    ok(client.delete(f"/api/v1/conversations/{conversation}", headers=owner), 204)
    item_of(feed, "conversation.deleted", "the deleted conversation", id=conversation)


def a_teammate_joins_and_becomes_an_admin(
    client: httpx.Client, stack: Stack, owner_tokens: dict[str, Any], feed: StreamWatch
) -> None:
    owner = bearer(owner_tokens)
    joined = member_of(client, stack, owner_tokens, "lin@feed.example", display_name="Lin")
    lin = joined["user"]["id"]
    item_of(feed, "member.changed", "the teammate joining", id=lin)
    ok(client.patch(f"/api/v1/tenants/members/{lin}", json={"role": "admin"}, headers=owner))
    # Joined, then made an admin: two items about the teammate, and the end of their session.
    eventually_blocking(
        lambda: len(items_about(feed, "member.changed", lin)) == 2, what="the teammate made admin"
    )
    item_of(feed, "session.revoked", "the teammate's session ended by the role change", id=lin)


def buy_a_plan_and_reach_its_limit(
    stack: Stack, client: httpx.Client, owner: dict[str, str], feed: StreamWatch
) -> None:
    started = ok(
        client.post("/api/v1/billing/subscription", json={"plan": "starter"}, headers=owner), 201
    )
    pay_at_checkout(stack, started["checkout_url"])
    item_of(feed, "subscription.changed", "the paid plan", id="starter")
    item_of(feed, "invoice.changed", "the first invoice")
    for turn in range(STARTER_MESSAGES):
        ok(client.post("/api/v1/chat", json={"message": f"Turn {turn}"}, headers=owner))
    feed.wait_for(
        lambda e: e.data.get("kind") == "usage.threshold" and "100%" in e.data["summary"],
        "the plan's limit reached",
    )


def the_owner_signs_out_elsewhere(client: httpx.Client, owner_id: str, feed: StreamWatch) -> None:
    elsewhere = ok(client.post("/api/v1/auth/token", json={"email": OWNER, "password": PASSWORD}))
    ok(client.post("/api/v1/auth/logout", headers=bearer(elsewhere)), 204)
    item_of(feed, "session.revoked", "the owner's own sign-out", id=owner_id)


@pytest.mark.timeout(300)
def test_the_journeys_actions_reach_the_owners_feed_live(stack: Stack) -> None:
    with stack.client() as client:
        owner_tokens = verified_owner(client, stack, OWNER)
        owner = bearer(owner_tokens)
        owner_id = ok(client.get("/api/v1/auth/me", headers=owner))["user"]["id"]
        stranger = register(client, "bob@feed.example", "Elsewhere").json()["tokens"]
        feed = StreamWatch(stack, owner, FEED)
        strangers_feed = StreamWatch(stack, bearer(stranger), FEED)

        delete_a_conversation(client, owner, feed)
        a_teammate_joins_and_becomes_an_admin(client, stack, owner_tokens, feed)
        buy_a_plan_and_reach_its_limit(stack, client, owner, feed)
        the_owner_signs_out_elsewhere(client, owner_id, feed)

        heard = feed.stop()
        live = [event.id for event in heard if event.event == "activity.item"]
        # Once each, though the owner's own sign-out reached them as an admin and as its person.
        assert len(live) == len(set(live)), live
        assert all(event.id == event.data["id"] for event in heard)
        listed = ok(client.get("/api/v1/activity", params={"limit": 100}, headers=owner))["items"]
        assert set(live) <= {item["id"] for item in listed}
        unread = ok(client.get("/api/v1/activity/unread-count", headers=owner))["unread"]
        assert unread >= len(live)
        assert not set(live) & {event.id for event in strangers_feed.stop()}
