"""Rebuild by replay: the feed made again from the streams while live events keep arriving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activity_support import (
    MEMBER,
    OTHER_TENANT,
    OWNER,
    TENANT,
    RunningActivity,
    principal,
)
from sqlalchemy import text
from typer.testing import CliRunner

from agentbus_activity.cli import app as cli
from agentbus_activity.deprovision.repository import delete_tenant_data
from agentbus_activity.errors import RebuildTakenOver
from agentbus_activity.rebuild import repository as rebuilds
from agentbus_activity.rebuild.replay import OpenReplay, StreamReplay
from agentbus_activity.rebuild.service import FeedRebuild, RebuildResult
from agentbus_shared.contracts.activity import Operation
from agentbus_shared.contracts.auth import UserRegistered
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.contracts.tenants import MemberChanged
from agentbus_shared.testing.waiting import eventually

START = datetime.now(UTC) - timedelta(hours=5)


def _joined(n: int, tenant: str = TENANT) -> MemberChanged:
    return MemberChanged(tenant_id=tenant, user_id=f"usr_m{n}", role="member", changed_by=OWNER)


async def _publish_joins(activity: RunningActivity, numbers: range, tenant: str = TENANT) -> None:
    for n in numbers:
        await activity.publish(_joined(n, tenant), tenant=tenant, time=START + timedelta(seconds=n))


async def _ids_when(activity: RunningActivity, count: int, tenant: str = TENANT) -> list[str]:
    owner = activity.feed_of(principal(OWNER, tenant=tenant, role="owner"))

    async def all_there() -> list[str] | None:
        ids = [item["id"] for item in await owner.items(limit=100)]
        return ids if len(ids) >= count else None

    return await eventually(all_there, what=f"{count} items in the feed", timeout=20)


class HeldReplay(StreamReplay):
    """A replay that waits, after its first batch, until the test says live events have landed."""

    def __init__(
        self, activity: RunningActivity, resume: asyncio.Event, paused: asyncio.Event
    ) -> None:
        connection = activity.runtime.broker.connection
        super().__init__(connection.jetstream, batch=20, idle_expiry=1.0)
        self._resume = resume
        self._paused = paused

    async def batches(self, replay: OpenReplay) -> AsyncIterator[list[bytes]]:
        async for batch in super().batches(replay):
            yield batch
            if not self._paused.is_set():
                self._paused.set()
                await self._resume.wait()


async def _held_rebuild(
    activity: RunningActivity, tenant_id: str | None = None
) -> tuple[asyncio.Task[RebuildResult], asyncio.Event]:
    """A rebuild started and paused after its first batch; the event that resumes it."""
    parts = activity.parts
    paused, resume = asyncio.Event(), asyncio.Event()
    rebuild = FeedRebuild(parts.db, parts.projection, HeldReplay(activity, resume, paused))
    running = asyncio.create_task(rebuild.run(tenant_id=tenant_id))
    await asyncio.wait_for(paused.wait(), 20)
    return running, resume


async def test_a_rebuild_while_live_events_arrive_loses_and_doubles_nothing_and_keeps_marks(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(60))
    before = await _ids_when(activity, 60)
    member = activity.feed_of(principal(MEMBER))
    await member.call(Operation.ITEM_READ, {"item_id": before[0]})
    await member.call(Operation.ITEM_DISMISS, {"item_id": before[1]})
    # The projection went wrong: items lost, one summary spoiled.
    await sql("DELETE FROM activity.feed_items WHERE id = ANY(:ids)", ids=before[10:20])
    await sql("UPDATE activity.feed_items SET summary = 'spoiled' WHERE id = :id", id=before[2])

    running, resume = await _held_rebuild(activity)
    await _publish_joins(activity, range(60, 100))  # live, while the rebuild is half way
    await _ids_when(activity, 100 - 10)
    resume.set()
    live = asyncio.create_task(_publish_until(activity, running, first=100))
    result = await asyncio.wait_for(running, 60)
    published = await asyncio.wait_for(live, 20)

    async def all_there() -> list[str] | None:
        rows = await sql("SELECT id FROM activity.feed_items WHERE tenant_id = :t", t=TENANT)
        return [row.id for row in rows] if len(rows) >= published else None

    after = await eventually(all_there, what=f"{published} items in the feed", timeout=20)
    assert len(after) == len(set(after)) == published > 100
    assert set(before) <= set(after)
    assert result.items >= 100
    assert result.replayed == 60  # the live ones reached the rebuild through the live path
    marks = await sql(
        "SELECT item_id, read_at IS NOT NULL AS read, dismissed_at IS NOT NULL AS dismissed "
        "FROM activity.item_states WHERE user_id = :u ORDER BY item_id",
        u=MEMBER,
    )
    assert {(row.item_id, row.read, row.dismissed) for row in marks} == {
        (before[0], True, False),
        (before[1], False, True),
    }
    assert await sql("SELECT id FROM activity.feed_items WHERE summary = 'spoiled'") == []
    assert await member.unread() == published - 2


async def _publish_until(activity: RunningActivity, rebuild: asyncio.Task[Any], first: int) -> int:
    """Live events one after another until the rebuild has swapped, and a few after; how many
    events the tenant has then in all."""
    n = first
    while not rebuild.done():
        await _publish_joins(activity, range(n, n + 1))
        n += 1
    await _publish_joins(activity, range(n, n + 3))
    return n + 3


async def test_the_operator_rebuilds_one_tenant_from_a_time_with_the_cli(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(5))
    await _publish_joins(activity, range(5), tenant=OTHER_TENANT)
    ours = await _ids_when(activity, 5)  # newest first: ours[:3] since the time, ours[3:] before
    theirs = await _ids_when(activity, 5, tenant=OTHER_TENANT)
    await activity.feed_of(principal(MEMBER)).call(Operation.ITEM_READ, {"item_id": ours[4]})
    spoil = "UPDATE activity.feed_items SET summary = 'spoiled' WHERE id = ANY(:ids)"
    await sql(spoil, ids=[ours[0], ours[3], theirs[0]])

    since = (START + timedelta(seconds=2)).isoformat()
    outcome = await asyncio.to_thread(
        CliRunner().invoke, cli, ["rebuild", "--tenant", TENANT, "--since", since]
    )

    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip().endswith("events replayed, 3 feed items rebuilt")
    rows = {row.id: row.summary for row in await sql("SELECT id, summary FROM activity.feed_items")}
    assert set(rows) == set(ours) | set(theirs)
    spoiled = {item_id for item_id, summary in rows.items() if summary == "spoiled"}
    assert spoiled == {ours[3], theirs[0]}  # before the time, or another tenant's: left alone
    marks = await sql("SELECT item_id FROM activity.item_states WHERE read_at IS NOT NULL")
    assert [row.item_id for row in marks] == [ours[4]]
    runs = await sql("SELECT status, replayed FROM activity.rebuilds")
    assert [(row.status, row.replayed >= 3) for row in runs] == [("done", True)]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--tenant", f"{TENANT}.>"), ("--since", "2026-12-01T00:00:00"), ("--since", "yesterday")],
)
def test_the_cli_refuses_a_tenant_that_is_no_subject_token_or_a_time_without_its_zone(
    option: str, value: str
) -> None:
    outcome = CliRunner().invoke(cli, ["rebuild", option, value])

    assert outcome.exit_code == 2
    assert f"Invalid value for '{option}'" in outcome.output


async def test_a_rebuild_brings_back_nothing_of_a_tenant_being_deprovisioned(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(3), tenant=OTHER_TENANT)
    await _ids_when(activity, 3, tenant=OTHER_TENANT)
    await activity.publish(
        TenantDeprovisionRequested(
            tenant_id=OTHER_TENANT, requested_by="usr_operator", requested_at=START
        ),
        tenant=OTHER_TENANT,
    )
    await _publish_joins(activity, range(2))
    await _ids_when(activity, 2)

    result = await activity.parts.rebuild.run()

    assert result.items == 2
    rows = await sql("SELECT DISTINCT tenant_id FROM activity.feed_items")
    assert [row.tenant_id for row in rows] == [TENANT]


async def test_a_rebuild_keeps_items_older_than_the_streams_keep_events_and_their_marks(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(2))
    await _ids_when(activity, 2)
    # Its event is older than the streams keep (30 days); the feed keeps it 90.
    await sql(
        "INSERT INTO activity.feed_items (id, tenant_id, kind, summary, occurred_at, audience) "
        "VALUES ('act_old', :tenant, 'member.changed', 'An old one', :at, 'members')",
        tenant=TENANT,
        at=datetime.now(UTC) - timedelta(days=40),
    )
    await activity.feed_of(principal(MEMBER)).call(Operation.ITEM_READ, {"item_id": "act_old"})

    result = await activity.parts.rebuild.run()

    assert result.items == 3
    marks = await sql("SELECT item_id, read_at FROM activity.item_states")
    assert [(row.item_id, row.read_at is not None) for row in marks] == [("act_old", True)]


async def test_a_rebuild_taken_over_while_it_ran_leaves_the_feed_to_the_newer_one(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(30))
    before = await _ids_when(activity, 30)
    await sql("UPDATE activity.feed_items SET summary = 'spoiled' WHERE id = :id", id=before[0])
    running, resume = await _held_rebuild(activity)
    async with activity.parts.db.transaction() as session:  # as ``rebuild --take-over`` does
        await rebuilds.abandon_running(session)
        assert await rebuilds.start(session, "rbd_newer", tenant_id=None, since=None)
    resume.set()

    with pytest.raises(RebuildTakenOver):
        await asyncio.wait_for(running, 60)

    runs = await sql("SELECT id, status FROM activity.rebuilds ORDER BY status")
    assert [row.status for row in runs] == ["failed", "running"]
    assert runs[1].id == "rbd_newer"
    spoiled = await sql("SELECT summary FROM activity.feed_items WHERE id = :id", id=before[0])
    assert [row.summary for row in spoiled] == ["spoiled"]  # the stale one swapped nothing in


async def test_a_rebuild_brings_back_nothing_of_a_tenant_whose_data_was_deleted(
    activity: RunningActivity, sql: Any
) -> None:
    gone = "t_gone"
    await activity.publish(
        UserRegistered(user_id="usr_gina", tenant_id=gone, email="gina@gone.test"), tenant=gone
    )
    await _publish_joins(activity, range(2), tenant=gone)
    await _ids_when(activity, 2, tenant=gone)
    # Its data was deleted; the request to do so is no longer among the events replayed.
    await sql("DELETE FROM activity.feed_items WHERE tenant_id = :t", t=gone)
    await sql("DELETE FROM activity.people WHERE tenant_id = :t", t=gone)
    await sql(
        "INSERT INTO activity.processed_events (consumer, event_id) "
        "VALUES ('tenant-data-deleted', :t)",
        t=gone,
    )

    await activity.parts.rebuild.run()

    assert await sql("SELECT id FROM activity.feed_items WHERE tenant_id = :t", t=gone) == []
    assert await sql("SELECT user_id FROM activity.people WHERE tenant_id = :t", t=gone) == []


async def test_a_rebuild_leaves_out_a_stored_body_that_is_no_json_and_goes_on(
    activity: RunningActivity,
) -> None:
    await _publish_joins(activity, range(2))
    await activity.publisher.publish_raw(
        f"events.auth.{TENANT}.member.changed", b"{not json", msg_id="evt_garbled"
    )
    await _publish_joins(activity, range(2, 4))
    await _ids_when(activity, 4)

    result = await activity.parts.rebuild.run()

    assert result.items == 4


async def test_a_rebuild_of_a_tenant_deprovisioned_while_it_ran_fails_and_brings_nothing_back(
    activity: RunningActivity, sql: Any
) -> None:
    await _publish_joins(activity, range(30), tenant=OTHER_TENANT)
    await _ids_when(activity, 30, tenant=OTHER_TENANT)
    running, resume = await _held_rebuild(activity, tenant_id=OTHER_TENANT)
    async with activity.parts.db.transaction() as session:  # as the deprovisioning consumer does
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"tenant-data:{OTHER_TENANT}"},
        )
        await delete_tenant_data(session, OTHER_TENANT)
        await session.execute(
            text(
                "INSERT INTO activity.processed_events (consumer, event_id) "
                "VALUES ('tenant-data-deleted', :t)"
            ),
            {"t": OTHER_TENANT},
        )
    resume.set()

    with pytest.raises(RebuildTakenOver):
        await asyncio.wait_for(running, 60)

    for table in ("feed_items", "feed_items_rebuild", "rebuilds"):
        assert await sql(f"SELECT id FROM activity.{table}") == [], table
