"""The activity part of the contract flow: the owner reads the team's feed once the activity
service has made items of the team's events, counts the unread ones, marks one read, dismisses
another and marks the rest read (up to an item, then all), so the feed's operations are
captured."""

from __future__ import annotations

from typing import Any

import httpx
from contract_support import ok

from agentbus_shared.testing.waiting import eventually_blocking

FEED = "/api/v1/activity"


def read_the_feed(client: httpx.Client, owner: dict[str, str]) -> None:
    """The feed as ``owner`` (its header) sees it, read item by item and then all at once."""

    def two_items() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = ok(client.get(FEED, headers=owner))["items"]
        return items if len(items) >= 2 else None

    first, second, *_ = eventually_blocking(two_items, what="the team's events in its feed")
    ok(client.get(f"{FEED}/unread-count", headers=owner))
    ok(client.post(f"{FEED}/{first['id']}/read", headers=owner), 204)
    ok(client.post(f"{FEED}/{second['id']}/dismiss", headers=owner), 204)
    ok(client.post(f"{FEED}/read-all", json={"up_to": first["id"]}, headers=owner))
    ok(client.post(f"{FEED}/read-all", headers=owner))
    ok(client.get(FEED, params={"kind": first["kind"], "unread": False}, headers=owner))
