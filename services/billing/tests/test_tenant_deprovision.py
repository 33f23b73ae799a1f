"""Deprovisioning a tenant: billing cancels its Stripe subscription, deletes every row of it and
its entitlements, answers ``tenant.data_deleted``, and leaves other tenants alone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import nats
from billing_support import (
    RunningBilling,
    StandinServer,
    consumer_drained,
    kv_entitlements,
    quiet,
    stripe_event,
)
from faststream.nats import NatsBroker
from test_subscriptions import subscribed, tenant_created
from test_usage_and_entitlements import usage

from agentbus_shared.contracts.platform import BillingTenantDataDeleted, TenantDeprovisionRequested
from agentbus_shared.testing.tenant_data import tenant_rows
from agentbus_shared.testing.waiting import eventually


def deprovision_requested(tenant_id: str) -> TenantDeprovisionRequested:
    return TenantDeprovisionRequested(
        tenant_id=tenant_id, requested_by="u_operator", requested_at=datetime.now(UTC)
    )


async def billing_rows(billing: RunningBilling, tenant_id: str) -> dict[str, int]:
    async with billing.runtime.database.session() as session:
        rows = await tenant_rows(session, tenant_id)
    return {table: n for table, n in rows.items() if table.startswith("billing.")}


async def stripe_events_naming(billing: RunningBilling, tenant_id: str) -> int:
    """Stripe events billing keeps whose payload names the tenant."""
    rows = await billing.sql(
        "SELECT count(*) AS n FROM billing.stripe_events WHERE strpos(payload::text, :t) > 0",
        t=f'"{tenant_id}"',
    )
    return int(rows[0].n)


async def answers(broker: NatsBroker, tenant_id: str) -> list[dict[str, object]]:
    """The ``tenant.data_deleted`` answers billing published for ``tenant_id`` so far."""
    js = broker.connection.jetstream()
    sub = await js.subscribe(
        BillingTenantDataDeleted.filter_subject(tenant_id), ordered_consumer=True
    )
    found = []
    try:
        while True:
            found.append(json.loads((await sub.next_msg(timeout=0.5)).data))
    except nats.errors.TimeoutError:
        return found
    finally:
        await sub.unsubscribe()


async def test_deprovision_cancels_the_subscription_and_leaves_nothing_of_the_tenant(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_gone")
    await billing.publish_event(tenant_created("t_kept"), tenant_id="t_kept")
    await eventually(lambda: kv_entitlements(broker, "t_kept"))
    stripe_id = (
        await billing.sql(
            "SELECT stripe_subscription_id FROM billing.subscriptions WHERE tenant_id = 't_gone'"
        )
    )[0][0]
    assert await billing_rows(billing, "t_gone")
    assert await stripe_events_naming(billing, "t_gone") > 0
    kept_before = await billing_rows(billing, "t_kept")

    await billing.publish_event(deprovision_requested("t_gone"), tenant_id="t_gone")

    answered = await eventually(lambda: answers(broker, "t_gone"), what="billing answered")
    assert answered[0]["data"]["rows_deleted"] > 0
    assert await billing_rows(billing, "t_gone") == {}
    assert await kv_entitlements(broker, "t_gone") is None
    assert await stripe_events_naming(billing, "t_gone") == 0
    remote = await stripe_standin.client().v1.subscriptions.retrieve_async(stripe_id)
    assert remote["status"] == "canceled"
    assert await billing_rows(billing, "t_kept") == kept_before
    assert await kv_entitlements(broker, "t_kept") is not None


async def test_a_repeated_request_answers_again_and_deletes_nothing_more(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await billing.publish_event(tenant_created("t_twice"), tenant_id="t_twice")
    await eventually(lambda: kv_entitlements(broker, "t_twice"))

    await billing.publish_event(deprovision_requested("t_twice"), tenant_id="t_twice")
    await eventually(lambda: answers(broker, "t_twice"), what="billing answered")
    await billing.publish_event(deprovision_requested("t_twice"), tenant_id="t_twice")

    async def requests_consumed() -> bool:
        done = await billing.sql(
            "SELECT count(*) FROM billing.processed_events "
            "WHERE consumer = 'billing-tenant-deprovision'"
        )
        return int(done[0][0]) == 2

    await eventually(requests_consumed, what="both requests consumed")
    # The same answer (one event id per tenant): the stream keeps it once.
    assert len(await answers(broker, "t_twice")) == 1
    assert await billing_rows(billing, "t_twice") == {}


async def test_stripes_later_event_about_the_cancelled_subscription_stores_nothing_again(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_late")
    stripe_id = (
        await billing.sql(
            "SELECT stripe_subscription_id FROM billing.subscriptions WHERE tenant_id = 't_late'"
        )
    )[0][0]
    await billing.publish_event(deprovision_requested("t_late"), tenant_id="t_late")
    await eventually(lambda: answers(broker, "t_late"), what="billing answered")

    remote = await stripe_standin.client().v1.subscriptions.retrieve_async(stripe_id)
    late = stripe_event("customer.subscription.deleted", remote.to_dict(), created=int(time.time()))
    await billing.publish_stripe(late)
    await quiet(billing, broker)
    assert await billing_rows(billing, "t_late") == {}


async def test_what_billing_hears_of_a_deleted_tenant_late_stores_nothing_of_it_again(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    """A run metered after the deletion, tenant.created heard again and a Stripe event sent
    before the subscription's metadata was unset (it still names the tenant) are ignored."""
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_after")
    remote = await stripe_standin.client().v1.subscriptions.retrieve_async(
        (
            await billing.sql(
                "SELECT stripe_subscription_id FROM billing.subscriptions "
                "WHERE tenant_id = 't_after'"
            )
        )[0][0]
    )
    named = remote.to_dict() | {"metadata": {"tenant_id": "t_after"}, "status": "past_due"}
    await billing.publish_event(deprovision_requested("t_after"), tenant_id="t_after")
    await eventually(lambda: answers(broker, "t_after"), what="billing answered")

    await billing.publish_event(usage("run_late", "t_after"), tenant_id="t_after")
    await billing.publish_event(tenant_created("t_after"), tenant_id="t_after")
    await billing.publish_stripe(
        stripe_event("customer.subscription.updated", named, created=int(time.time()) + 5)
    )
    for stream, durable in (("CHAT_EVENTS", "usage-recorded"), ("AUTH_EVENTS", "tenant-created")):
        await eventually(lambda: consumer_drained(broker, stream, durable), what=durable)  # noqa: B023
    await quiet(billing, broker)
    assert await billing_rows(billing, "t_after") == {}
    assert await kv_entitlements(broker, "t_after") is None
