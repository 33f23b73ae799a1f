"""The feed as viewers read it: filters, pages, read, dismiss and read all, each viewer their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from activity_support import (
    MEMBER,
    OTHER_MEMBER,
    OTHER_TENANT,
    OWNER,
    TENANT,
    RunningActivity,
    principal,
)

from agentbus_shared.contracts.activity import Operation
from agentbus_shared.contracts.auth import SessionRevoked, UserRegistered
from agentbus_shared.contracts.billing import UsageThresholdReached
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.tenants import MemberChanged
from agentbus_shared.errors import AgentbusError, BadRequest, NotFound
from agentbus_shared.testing.waiting import eventually

NOW = datetime.now(UTC)


async def _feed_with(activity: RunningActivity) -> None:
    """Five items for the tenant (one about OTHER_MEMBER for admins), one for another tenant."""
    await activity.publish(
        UserRegistered(
            user_id=OWNER, tenant_id=TENANT, email="olga@acme.test", display_name="Olga"
        ),
        time=NOW - timedelta(minutes=10),
    )
    for minutes, user in ((9, MEMBER), (8, OTHER_MEMBER)):
        await activity.publish(
            MemberChanged(tenant_id=TENANT, user_id=user, role="member", changed_by=OWNER),
            time=NOW - timedelta(minutes=minutes),
        )
    await activity.publish(
        UsageThresholdReached(tenant_id=TENANT, meter="tokens", used=9, limit=10, percent=100),
        time=NOW - timedelta(minutes=7),
    )
    await activity.publish(
        SessionRevoked(
            session_id="ses_1",
            user_id=OTHER_MEMBER,
            tenant_id=TENANT,
            reason="password_reset",
            revoked_at=NOW,
            expires_at=NOW + timedelta(minutes=15),
        ),
        time=NOW - timedelta(minutes=6),
    )
    await activity.publish(
        MemberChanged(
            tenant_id=OTHER_TENANT, user_id="usr_zed", role="admin", changed_by="usr_zed"
        ),
        tenant=OTHER_TENANT,
    )
    owner = activity.feed_of(principal(OWNER, role="owner"))

    async def all_there() -> bool:
        return len(await owner.items()) == 5

    await eventually(all_there, what="the tenant's five items", timeout=10)


async def test_filters_and_pages_of_the_feed(activity: RunningActivity) -> None:
    await _feed_with(activity)
    owner = activity.feed_of(principal(OWNER, role="owner"))

    first = await owner.call(Operation.FEED_LIST, {"limit": 2})
    second = await owner.call(Operation.FEED_LIST, {"limit": 2, "cursor": first["next_cursor"]})
    assert [i["kind"] for i in first["items"]] == ["session.revoked", "usage.threshold"]
    assert [i["summary"] for i in second["items"]] == [
        "Olga made a member member",
        "Olga made a member member",
    ]
    assert await owner.summaries(kind="user.registered") == ["Olga created an account"]
    by_olga = await owner.items(actor=OWNER)
    assert {i["kind"] for i in by_olga} == {"user.registered", "member.changed"}
    assert {i["actor"]["label"] for i in by_olga} == {"Olga"}
    with pytest.raises(BadRequest) as refused:
        await owner.call(Operation.FEED_LIST, {"cursor": "garbage"})
    assert refused.value.code == "invalid_cursor"


async def test_each_viewer_reads_and_dismisses_for_themselves(activity: RunningActivity) -> None:
    await _feed_with(activity)
    member = activity.feed_of(principal(MEMBER))
    other = activity.feed_of(principal(OTHER_MEMBER))
    items = await member.items()
    assert len(items) == 4  # not the admins' item about someone else
    assert await member.unread() == 4

    await member.call(Operation.ITEM_READ, {"item_id": items[0]["id"]})
    await member.call(Operation.ITEM_READ, {"item_id": items[0]["id"]})  # twice: still one read
    await member.call(Operation.ITEM_DISMISS, {"item_id": items[1]["id"]})

    assert await member.unread() == 2
    assert [i["id"] for i in await member.items(unread=False)] == [items[0]["id"]]
    assert items[1]["id"] not in [i["id"] for i in await member.items()]
    assert await other.unread() == 5  # the item about them too; nobody else's marks

    assert (await member.call(Operation.READ_ALL))["marked"] == 2
    assert await member.unread() == 0
    assert await member.items(unread=True) == []
    assert (await member.call(Operation.READ_ALL))["marked"] == 0


async def test_read_all_up_to_an_item_leaves_the_newer_ones_unread(
    activity: RunningActivity,
) -> None:
    await _feed_with(activity)
    member = activity.feed_of(principal(MEMBER))
    newest, on_screen, *older = await member.items()

    marked = await member.call(Operation.READ_ALL, {"up_to": on_screen["id"]})

    assert marked["marked"] == 1 + len(older)
    assert [i["id"] for i in await member.items(unread=True)] == [newest["id"]]
    assert (await member.call(Operation.READ_ALL, {"up_to": None}))["marked"] == 1
    assert await member.unread() == 0


async def test_read_all_up_to_an_item_the_viewer_may_not_see_marks_nothing(
    activity: RunningActivity,
) -> None:
    await _feed_with(activity)
    owner_items = await activity.feed_of(principal(OWNER, role="owner")).items()
    admins_only = next(i for i in owner_items if i["audience"] == "admins")
    foreign = await activity.feed_of(
        principal("usr_zed", tenant=OTHER_TENANT, role="owner")
    ).items()
    member = activity.feed_of(principal(MEMBER))

    for item_id in (admins_only["id"], foreign[0]["id"], "act_nothing"):
        with pytest.raises(NotFound) as refused:
            await member.call(Operation.READ_ALL, {"up_to": item_id})
        assert refused.value.code == "activity_item_not_found"
    assert await member.unread() == 4


async def test_items_a_viewer_may_not_see_are_not_found(activity: RunningActivity) -> None:
    await _feed_with(activity)
    owner_items = await activity.feed_of(principal(OWNER, role="owner")).items()
    admins_only = next(i for i in owner_items if i["audience"] == "admins")
    stranger = activity.feed_of(principal("usr_zed", tenant=OTHER_TENANT, role="owner"))
    member = activity.feed_of(principal(MEMBER))

    for viewer, item_id in (
        (member, admins_only["id"]),
        (stranger, owner_items[0]["id"]),
        (member, "act_nothing"),
    ):
        for operation in (Operation.ITEM_READ, Operation.ITEM_DISMISS):
            with pytest.raises(NotFound) as refused:
                await viewer.call(operation, {"item_id": item_id})
            assert refused.value.code == "activity_item_not_found"
    assert [i["kind"] for i in await stranger.items()] == ["member.changed"]


async def test_only_people_with_tenant_read_reach_the_feed(activity: RunningActivity) -> None:
    service_account = Principal(
        kind="service_account",
        subject="sa_robot",
        tenant_id=TENANT,
        scopes=frozenset({Scope.TENANT_READ}),
    )
    without_scope = Principal(subject=MEMBER, tenant_id=TENANT, roles=("member",))
    refusals = (
        Operation.FEED_LIST,
        Operation.UNREAD_COUNT,
        Operation.READ_ALL,
        Operation.ITEM_READ,
        Operation.ITEM_DISMISS,
    )
    for caller in (service_account, without_scope):
        viewer = activity.feed_of(caller)
        for operation in refusals:
            with pytest.raises(AgentbusError) as refused:
                await viewer.call(operation, {"item_id": "act_x"} if "item" in operation else {})
            assert refused.value.status == 403, (caller.kind, operation)
