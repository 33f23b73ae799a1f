"""Deprovisioning a tenant: activity deletes its feed, read state and people, answers
``tenant.data_deleted`` once, and leaves other tenants' feeds alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activity_support import MEMBER, OTHER_TENANT, OWNER, TENANT, RunningActivity, principal
from prometheus_client import REGISTRY

from agentbus_shared.contracts.activity import Operation
from agentbus_shared.contracts.auth import UserRegistered
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.testing.tenant_data import tenant_rows
from agentbus_shared.testing.waiting import eventually


async def activity_rows(activity: RunningActivity, tenant_id: str) -> dict[str, int]:
    async with activity.parts.db.session() as session:
        rows = await tenant_rows(session, tenant_id)
    return {table: n for table, n in rows.items() if table.startswith("activity.")}


def registered(user: str, tenant: str) -> UserRegistered:
    return UserRegistered(user_id=user, tenant_id=tenant, email=f"{user}@example.com")


async def test_deprovision_deletes_the_tenants_feed_and_read_state_and_answers_once(
    activity: RunningActivity, sql: Any
) -> None:
    await activity.publish(registered(OWNER, TENANT))
    await activity.publish(registered(MEMBER, TENANT))
    await activity.publish(registered("usr_otto", OTHER_TENANT), tenant=OTHER_TENANT)
    feed = activity.feed_of(principal())
    other = activity.feed_of(principal("usr_otto", tenant=OTHER_TENANT))
    await eventually(feed.items, what="the tenant's feed")
    await eventually(other.items, what="the other tenant's feed")
    await feed.call(Operation.READ_ALL)
    assert set(await activity_rows(activity, TENANT)) >= {
        "activity.feed_items",
        "activity.item_states",
    }
    kept = await activity_rows(activity, OTHER_TENANT)

    for _ in range(2):
        requested = TenantDeprovisionRequested(
            tenant_id=TENANT, requested_by="u_operator", requested_at=datetime.now(UTC)
        )
        await activity.publish(requested)

    async def both_consumed() -> bool:
        done = await sql(
            "SELECT count(*) AS n FROM activity.processed_events "
            "WHERE consumer = 'activity-tenant-deprovision'"
        )
        return int(done[0].n) == 2

    await eventually(both_consumed, what="both requests consumed")
    answers = await sql(
        "SELECT id FROM activity.outbox WHERE subject = :subject",
        subject=f"events.activity.{TENANT}.tenant.data_deleted",
    )
    assert len(answers) == 1
    assert await activity_rows(activity, TENANT) == {}
    assert await activity_rows(activity, OTHER_TENANT) == kept


def _skipped_as_deleted() -> float:
    value = REGISTRY.get_sample_value(
        "agentbus_activity_events_skipped_total",
        {"kind": "user.registered", "reason": "tenant_deleted"},
    )
    return value or 0.0


async def test_an_event_of_the_tenant_projected_after_its_deletion_adds_nothing(
    activity: RunningActivity, sql: Any
) -> None:
    gone = "t_gone_late"
    requested = TenantDeprovisionRequested(
        tenant_id=gone, requested_by="u_operator", requested_at=datetime.now(UTC)
    )
    await activity.publish(requested, tenant=gone)

    async def answered() -> bool:
        rows = await sql(
            "SELECT id FROM activity.outbox WHERE subject = :subject",
            subject=f"events.activity.{gone}.tenant.data_deleted",
        )
        return bool(rows)

    await eventually(answered, what="activity answered")
    before = _skipped_as_deleted()
    # An event the tenant's people caused before the deletion, heard by the projection after it.
    await activity.publish(registered("usr_late", gone), tenant=gone)
    await eventually(lambda: _skipped_as_deleted() > before, what="the late event left out")
    assert await activity_rows(activity, gone) == {}
