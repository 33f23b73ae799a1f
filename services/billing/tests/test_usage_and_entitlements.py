"""Usage metering, meter reports to Stripe, thresholds, and entitlements that chat enforces."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from billing_support import (
    RunningBilling,
    StandinServer,
    consumer_drained,
    kv_entitlements,
    operator,
    principal,
    stripe_event,
)
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from sqlalchemy import Row

from agentbus_billing.app import BillingParts
from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.errors import AgentbusError, PaymentRequired, RateLimited
from agentbus_shared.testing.waiting import eventually


def usage(run_id: str, tenant_id: str, *, messages: int = 1, tokens: int = 300) -> UsageRecorded:
    return UsageRecorded(
        run_id=run_id,
        tenant_id=tenant_id,
        user_id="u_1",
        conversation_id="c_1",
        model="builtin",
        agent="triage",
        input_tokens=tokens // 3,
        output_tokens=tokens - tokens // 3,
        messages=messages,
        recorded_at=datetime.now(UTC),
    )


async def test_usage_from_chat_is_metered_once(billing: RunningBilling, broker: NatsBroker) -> None:
    await billing.publish_event(usage("run_1", "t_use"), tenant_id="t_use", event_id="run_1")
    # the same run published again (a retried publish past the dedup window)
    await billing.publish_event(usage("run_1", "t_use"), tenant_id="t_use", event_id="run_1x")
    await billing.publish_event(
        usage("run_2", "t_use", tokens=600), tenant_id="t_use", event_id="run_2"
    )
    await eventually(lambda: consumer_drained(broker, "CHAT_EVENTS", "usage-recorded"))

    view = (await billing.call("usage.get", {}, principal("t_use"))).data
    used = {m["meter"]: (m["used"], m["limit"]) for m in view["meters"]}
    # run_1x carries run_1's data under another event id: it is another run for the meter
    assert used == {"messages": (3, 100), "tokens": (1200, 200000)}

    # KV is written after each commit; a write made before the last run committed may be seen
    # first, so wait for the bucket to catch up with the database.
    async def caught_up() -> Entitlements | None:
        found = await kv_entitlements(broker, "t_use")
        return found if found and found.used == {"messages": 3, "tokens": 1200} else None

    assert await eventually(caught_up)


async def test_same_run_delivered_twice_counts_once(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    for _ in range(3):
        await billing.publish_event(
            usage("run_once", "t_once"), tenant_id="t_once", event_id="run_once"
        )
    await billing.publish_stripe(  # an unrelated event proves the consumers are alive
        stripe_event("invoice.created", {"id": "in_z", "customer": "cus_z"}, created=1)
    )
    await eventually(lambda: consumer_drained(broker, "CHAT_EVENTS", "usage-recorded"))
    rows = await billing.sql("SELECT used FROM billing.usage_counters WHERE meter = 'messages'")
    assert [r.used for r in rows] == [1]


async def test_tenant_over_its_limit_is_refused_by_entitlements_check(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    for n in range(4):
        await billing.publish_event(
            usage(f"run_big{n}", "t_over", messages=25), tenant_id="t_over", event_id=f"run_big{n}"
        )

    async def used_up() -> Entitlements | None:
        found = await kv_entitlements(broker, "t_over")
        return found if found and found.used.get("messages") == 100 else None

    entitlements = await eventually(used_up)
    with pytest.raises(RateLimited) as refused:
        entitlements.check(now=datetime.now(UTC))
    assert refused.value.code == "quota_exceeded"
    assert refused.value.retry_after is not None
    assert refused.value.retry_after > 0
    thresholds = await billing.sql(
        "SELECT percent FROM billing.usage_thresholds WHERE tenant_id = 't_over' "
        "AND meter = 'messages' ORDER BY percent"
    )
    assert [r.percent for r in thresholds] == [80, 100]
    notices = await billing.sql(
        "SELECT count(*) AS n FROM billing.outbox WHERE subject = 'events.billing.t_over.usage.threshold'"
    )
    assert notices[0].n == 2


async def test_tenant_under_its_limit_may_run(billing: RunningBilling, broker: NatsBroker) -> None:
    await billing.publish_event(usage("run_ok", "t_ok"), tenant_id="t_ok", event_id="run_ok")
    entitlements = await eventually(lambda: kv_entitlements(broker, "t_ok"))
    entitlements.check(now=datetime.now(UTC))


async def test_entitlements_answer_over_rpc_and_guard_other_tenants(
    billing: RunningBilling,
) -> None:
    own = await billing.call("entitlements.get", {"tenant_id": "t_rpc"}, principal("t_rpc"))
    assert own.data["plan"] == "free"
    service = await billing.call("entitlements.get", {"tenant_id": "t_rpc"})
    assert service.data["limits"]["messages"] == 100
    with pytest.raises(AgentbusError) as other:
        await billing.call("entitlements.get", {"tenant_id": "t_rpc"}, principal("t_else"))
    assert other.value.status == 403
    operators = await billing.call("entitlements.get", {"tenant_id": "t_rpc"}, operator("t_else"))
    assert operators.data["plan"] == "free"
    with pytest.raises(AgentbusError) as invalid:
        await billing.call("entitlements.get", {"tenant_id": ""}, principal("t_rpc"))
    assert invalid.value.status == 422


async def test_past_due_subscription_falls_back_to_free_limits(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    now = int(time.time())
    subscription = {
        "id": "sub_late",
        "object": "subscription",
        "customer": "cus_late",
        "status": "past_due",
        "metadata": {"tenant_id": "t_late"},
        "items": {
            "data": [{"id": "si_1", "price": {"id": "p", "lookup_key": "agentbus_pro_month"}}]
        },
        "current_period_start": now - 60,
        "current_period_end": now + 86400,
    }
    await billing.publish_stripe(
        stripe_event("customer.subscription.updated", subscription, created=now)
    )

    async def past_due() -> Entitlements | None:
        found = await kv_entitlements(broker, "t_late")
        return found if found and found.status == "past_due" else None

    entitlements = await eventually(past_due)
    assert entitlements.plan == "free"
    assert entitlements.limits.messages == 100
    view = (await billing.call("subscription.get", {}, principal("t_late"))).data
    assert (view["plan"], view["status"]) == ("pro", "past_due")


async def test_plan_without_a_meter_is_refused_as_payment_required() -> None:
    entitlements = Entitlements.model_validate(
        {
            "tenant_id": "t",
            "plan": "none",
            "status": "active",
            "limits": {"messages": 0},
            "period_start": "2026-11-01T00:00:00Z",
            "period_end": "2026-12-01T00:00:00Z",
            "updated_at": "2026-11-22T00:00:00Z",
        }
    )
    with pytest.raises(PaymentRequired):
        entitlements.check(now=datetime.now(UTC))


async def test_usage_from_chat_reaches_the_meter_report_once(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await billing.publish_event(
        TenantCreated(
            tenant_id="t_meter", name="M", owner_user_id="u", created_at=datetime.now(UTC)
        ),
        tenant_id="t_meter",
    )
    reply = await billing.call("subscription.create", {"plan": "starter"}, principal("t_meter"))
    await stripe_standin.complete_checkout(reply.data["checkout_url"])
    await eventually(
        lambda: billing.sql("SELECT 1 FROM billing.subscriptions WHERE plan = 'starter'")
    )
    for event_id in ("run_m1", "run_m1", "run_m1"):
        await billing.publish_event(
            usage("run_m1", "t_meter", tokens=750), tenant_id="t_meter", event_id=event_id
        )
    await billing.publish_event(
        usage("run_m2", "t_meter", tokens=250), tenant_id="t_meter", event_id="run_m2"
    )

    async def reported() -> list[dict[str, object]]:
        events = await stripe_standin.meter_events()
        return events if len(events) == 4 else []

    events = await eventually(reported)
    by_id = {e["identifier"]: e for e in events}
    assert set(by_id) == {"run_m1:messages", "run_m1:tokens", "run_m2:messages", "run_m2:tokens"}
    assert by_id["run_m1:tokens"]["payload"]["value"] == "750"  # type: ignore[index]
    assert by_id["run_m1:tokens"]["event_name"] == "agentbus_tokens"

    async def settled() -> list[Row[Any]]:
        # Stripe has the events a moment before the reporter's transaction marks them reported.
        rows = await billing.sql("SELECT report_status, report_attempts FROM billing.usage_records")
        return rows if all(r.report_status != "pending" for r in rows) else []

    rows = await eventually(settled)
    assert {(r.report_status, r.report_attempts) for r in rows} == {("reported", 1)}


async def test_free_tenants_without_a_customer_are_not_reported(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer
) -> None:
    billing = billing_with_stripe
    await billing.publish_event(
        usage("run_free", "t_free"), tenant_id="t_free", event_id="run_free"
    )

    rows = await eventually(
        lambda: billing.sql(
            "SELECT report_status FROM billing.usage_records WHERE report_status <> 'pending'"
        )
    )
    assert rows[0].report_status == "skipped"
    assert await stripe_standin.meter_events() == []


async def test_usage_operation_needs_billing_read(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as denied:
        await billing.call("usage.get", {}, principal("t_1", Scope.CONVERSATIONS_READ))
    assert denied.value.status == 403


class _HeldBucket:
    """The ENTITLEMENTS bucket of a replica whose write waits at ``gate`` once it has read."""

    def __init__(self, bucket: KeyValue) -> None:
        self.bucket = bucket
        self.writing = asyncio.Event()
        self.gate = asyncio.Event()

    async def put(self, key: str, value: bytes) -> int:
        self.writing.set()
        await self.gate.wait()
        return await self.bucket.put(key, value)


async def test_two_replicas_writing_one_tenant_leave_its_newest_entitlements(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    """A replica that read before a change cannot write after the replica that read after it."""
    parts = billing.runtime.parts_as(BillingParts)
    bucket = await broker.connection.jetstream().key_value(ENTITLEMENTS.name)
    held = _HeldBucket(bucket)

    async def held_bucket() -> KeyValue:
        return cast(KeyValue, held)

    async def plain_bucket() -> KeyValue:
        return bucket

    first = EntitlementsService(parts.db, parts.catalog, held_bucket)
    second = EntitlementsService(parts.db, parts.catalog, plain_bucket)
    await billing.publish_event(usage("run_r1", "t_race"), tenant_id="t_race", event_id="run_r1")
    await eventually(lambda: consumer_drained(broker, "CHAT_EVENTS", "usage-recorded"))

    stale = asyncio.create_task(first.publish(["t_race"]))
    await held.writing.wait()  # the first replica has read one message and waits to write it
    await billing.publish_event(usage("run_r2", "t_race"), tenant_id="t_race", event_id="run_r2")
    await eventually(lambda: consumer_drained(broker, "CHAT_EVENTS", "usage-recorded"))
    newest = asyncio.create_task(second.publish(["t_race"]))

    async def second_waits_or_wrote() -> bool:
        waiting = await billing.sql(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        return newest.done() or bool(waiting)

    await eventually(second_waits_or_wrote, what="the second replica at the tenant's lock")
    held.gate.set()
    await asyncio.gather(stale, newest)

    async def newest_written() -> Entitlements | None:
        marks = await billing.sql(
            "SELECT 1 FROM billing.entitlements_pending WHERE tenant_id = 't_race'"
        )
        found = await kv_entitlements(broker, "t_race")
        return found if not marks and found else None

    written = await eventually(newest_written, what="no mark left for t_race")
    assert written.used["messages"] == 2
