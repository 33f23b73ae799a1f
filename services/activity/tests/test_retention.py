"""Retention: the feed keeps ACTIVITY_RETENTION_DAYS days; a periodic sweep deletes older items."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from activity_support import (
    MEMBER,
    OTHER_MEMBER,
    RunningActivity,
    make_settings,
    principal,
    running,
)
from faststream.nats import NatsBroker
from sqlalchemy import text

from agentbus_activity.app import ActivityParts
from agentbus_activity.retention import repository as retention
from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts.activity import Operation
from agentbus_shared.contracts.tenants import MemberChanged
from agentbus_shared.testing.waiting import eventually

NOW = datetime.now(UTC)


def _joined(user: str) -> MemberChanged:
    return MemberChanged(tenant_id="t_acme", user_id=user, role="member", changed_by=user)


async def test_the_sweep_deletes_items_past_the_retention_with_their_marks(
    service_env: dict[str, str], streams: None, broker: NatsBroker, sql: Any
) -> None:
    settings = make_settings(retention_interval=0.2).model_copy(update={"retention_days": 1})
    async with running(settings) as runtime:
        activity = RunningActivity(runtime, broker, EventPublisher(broker))
        feed = activity.feed_of(principal())
        await activity.publish(_joined(MEMBER), time=NOW - timedelta(hours=2))
        await activity.publish(_joined(OTHER_MEMBER), time=NOW - timedelta(hours=1))
        await activity.publish(_joined("usr_old"), time=NOW - timedelta(days=3))

        async def two() -> list[dict[str, Any]] | None:
            items = await feed.items()
            return items if len(items) == 2 else None

        items = await eventually(two, what="the two recent items", timeout=10)
        for item in items:
            await feed.call(Operation.ITEM_READ, {"item_id": item["id"]})
        aged = items[1]["id"]  # the older one, now past the day
        await sql(
            "UPDATE activity.feed_items SET occurred_at = now() - interval '25 hours' WHERE id = :id",
            id=aged,
        )

        async def one() -> list[dict[str, Any]] | None:
            left = await feed.items()
            return left if len(left) == 1 else None

        left = await eventually(one, what="the sweep of the item past a day", timeout=10)
        assert left[0]["id"] == items[0]["id"]
        marks = await sql("SELECT item_id FROM activity.item_states")
        assert [row.item_id for row in marks] == [left[0]["id"]]
        assert runtime.parts_as(ActivityParts).settings.retention_days == 1


async def test_a_sweep_skips_the_items_another_replica_is_sweeping(
    activity: RunningActivity, sql: Any
) -> None:
    for item_id in ("act_taken", "act_free"):
        await sql(
            "INSERT INTO activity.feed_items (id, tenant_id, kind, summary, occurred_at, audience) "
            "VALUES (:id, 't_acme', 'member.changed', 'Old', now() - interval '1 hour', 'members')",
            id=item_id,
        )
    db = activity.parts.db
    async with db.transaction() as other_replica:
        await other_replica.execute(
            text("SELECT id FROM activity.feed_items WHERE id = 'act_taken' FOR UPDATE")
        )
        async with db.transaction() as session:
            swept = await asyncio.wait_for(
                retention.delete_older_than(session, datetime.now(UTC), limit=10), 5
            )

    assert swept == 1
    rows = await sql("SELECT id FROM activity.feed_items")
    assert [row.id for row in rows] == ["act_taken"]
