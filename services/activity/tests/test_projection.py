"""The projection: every service's events become one feed item each, whatever the delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from activity_support import MEMBER, OTHER_MEMBER, OWNER, TENANT, RunningActivity, principal
from prometheus_client import REGISTRY

from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.auth import EmailRequested, SessionRevoked, UserRegistered
from agentbus_shared.contracts.billing import UsageThresholdReached
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.contracts.tenants import MemberChanged
from agentbus_shared.testing.waiting import eventually

NOW = datetime.now(UTC)


def _skipped(kind: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "agentbus_activity_events_skipped_total", {"kind": kind, "reason": reason}
    )
    return value or 0.0


def _joined(user: str, role: str = "member") -> MemberChanged:
    return MemberChanged(tenant_id=TENANT, user_id=user, role=role, changed_by=user)  # type: ignore[arg-type]


async def test_an_event_delivered_twice_is_one_item(activity: RunningActivity) -> None:
    feed = activity.feed_of(principal())
    when = NOW - timedelta(minutes=5)
    event_id = await activity.publish(_joined(MEMBER), event_id="evt_join_max", time=when)
    await activity.publish_again(_joined(MEMBER), event_id=event_id, time=when)
    await activity.publish(_joined(OTHER_MEMBER))

    await eventually(
        lambda: _when_count(feed, 2), what="both members' joins in the feed", timeout=10
    )
    await eventually(lambda: _all_handled(activity), what="every copy handled", timeout=10)
    items = await feed.items()
    assert [item["kind"] for item in items] == ["member.changed", "member.changed"]
    assert len({item["id"] for item in items}) == 2


async def _all_handled(activity: RunningActivity) -> bool | None:
    """Whether the live consumer of the auth stream has handled every event stored in it."""
    info = await activity.broker.connection.jetstream().consumer_info(
        AUTH_EVENTS.name, "activity-feed-auth"
    )
    return (info.num_pending == 0 and info.num_ack_pending == 0) or None


def _counted(kind: str, reason: str, expected: float) -> bool | None:
    return _skipped(kind, reason) == expected or None


async def _when_count(feed: object, count: int) -> list[dict[str, object]] | None:
    items = await feed.items()  # type: ignore[attr-defined]
    return items if len(items) == count else None


async def test_items_take_their_place_by_when_they_happened_not_when_they_arrived(
    activity: RunningActivity,
) -> None:
    feed = activity.feed_of(principal())
    await activity.publish(
        UserRegistered(
            user_id=OWNER, tenant_id=TENANT, email="olga@acme.test", display_name="Olga"
        ),
        time=NOW - timedelta(hours=2),
    )
    await activity.publish(_joined(MEMBER), time=NOW - timedelta(minutes=1))
    await activity.publish(
        MemberChanged(tenant_id=TENANT, user_id=MEMBER, role="admin", changed_by=OWNER),
        time=NOW - timedelta(hours=1),
    )

    summaries = await eventually(
        lambda: _summaries_when(feed, 3), what="three items in the feed", timeout=10
    )
    assert summaries == [
        "A member joined the workspace as member",
        "Olga made a member admin",
        "Olga created an account",
    ]


async def _summaries_when(feed: object, count: int) -> list[str] | None:
    found = await feed.summaries()  # type: ignore[attr-defined]
    return found if len(found) == count else None


async def test_unknown_and_plumbing_kinds_are_skipped_and_counted(
    activity: RunningActivity,
) -> None:
    unknown_before = _skipped("widget.polished", "unknown")
    plumbing_before = _skipped("email.requested", "not_in_feed")
    unknown = {
        "specversion": "1.0",
        "id": "evt_widget_1",
        "source": "agentbus/auth",
        "type": "dev.agentbus.auth.widget.polished",
        "time": NOW.isoformat(),
        "tenantid": TENANT,
        "data": {"shine": 11},
    }
    await activity.publisher.publish_raw(
        subjects.event("auth", TENANT, "widget.polished"), json.dumps(unknown).encode(), msg_id="w1"
    )
    await activity.publish(EmailRequested(to="max@acme.test", template="verify_email"))
    await activity.publish(_joined(MEMBER))

    feed = activity.feed_of(principal())
    await eventually(lambda: _when_count(feed, 1), what="the known event's item", timeout=10)
    await eventually(
        lambda: _counted("widget.polished", "unknown", unknown_before + 1),
        what="the unknown kind counted",
        timeout=10,
    )
    await eventually(
        lambda: _counted("email.requested", "not_in_feed", plumbing_before + 1),
        what="the plumbing kind counted",
        timeout=10,
    )


async def test_security_events_of_a_member_are_for_admins_and_that_member(
    activity: RunningActivity,
) -> None:
    revoked = SessionRevoked(
        session_id="ses_1",
        user_id=OTHER_MEMBER,
        tenant_id=TENANT,
        reason="refresh_token_reused",
        revoked_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
    )
    await activity.publish(revoked)
    await activity.publish(
        UsageThresholdReached(tenant_id=TENANT, meter="messages", used=80, limit=100, percent=80)
    )
    admin = activity.feed_of(principal(OWNER, role="owner"))
    await eventually(lambda: _when_count(admin, 2), what="both items for the owner", timeout=10)

    assert [i["kind"] for i in await activity.feed_of(principal(MEMBER)).items()] == [
        "usage.threshold"
    ]
    concerned = await activity.feed_of(principal(OTHER_MEMBER)).items()
    assert {i["kind"] for i in concerned} == {"usage.threshold", "session.revoked"}
    assert next(i for i in concerned if i["kind"] == "session.revoked")["audience"] == "admins"


async def test_platform_events_without_a_tenant_are_left_out(activity: RunningActivity) -> None:
    before = _skipped("member.changed", "no_tenant")
    await activity.publish(_joined(MEMBER), tenant=subjects.SYSTEM_TENANT)
    await activity.publish(_joined(OTHER_MEMBER))
    feed = activity.feed_of(principal())
    await eventually(lambda: _when_count(feed, 1), what="the tenant's item", timeout=10)
    await eventually(
        lambda: _counted("member.changed", "no_tenant", before + 1),
        what="the platform event counted",
        timeout=10,
    )


async def test_new_items_go_live_to_the_viewers_who_may_see_them(
    activity: RunningActivity,
) -> None:
    connection = activity.broker.connection
    members = await connection.subscribe(subjects.activity_feed(TENANT, "members"))
    admins = await connection.subscribe(subjects.activity_feed(TENANT, "admins"))
    concerned = await connection.subscribe(subjects.activity_feed_of_user(TENANT, OTHER_MEMBER))
    await connection.flush()

    await activity.publish(_joined(MEMBER))
    await activity.publish(
        SessionRevoked(
            session_id="ses_2",
            user_id=OTHER_MEMBER,
            tenant_id=TENANT,
            reason="logout",
            revoked_at=NOW,
            expires_at=NOW + timedelta(minutes=15),
        )
    )

    joined = json.loads((await members.next_msg(timeout=10)).data)
    assert (joined["kind"], joined["read"], joined["audience"]) == (
        "member.changed",
        False,
        "members",
    )
    for subscription in (admins, concerned):
        item = json.loads((await subscription.next_msg(timeout=10)).data)
        assert (item["kind"], item["summary"]) == ("session.revoked", "A member signed out")
