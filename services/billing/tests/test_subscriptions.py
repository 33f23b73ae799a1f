"""Plans and subscriptions: free at sign-up, paid through Checkout, changed, cancelled."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from billing_support import (
    RunningBilling,
    StandinServer,
    consumer_drained,
    kv_entitlements,
    principal,
    service_account,
)
from faststream.nats import NatsBroker

from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.errors import AgentbusError
from agentbus_shared.logging import configure_logging
from agentbus_shared.testing.waiting import eventually


def tenant_created(tenant_id: str) -> TenantCreated:
    return TenantCreated(
        tenant_id=tenant_id, name="Acme", owner_user_id="u_owner", created_at=datetime.now(UTC)
    )


async def subscription(billing: RunningBilling, tenant_id: str) -> dict[str, object]:
    reply = await billing.call("subscription.get", {}, principal(tenant_id))
    return dict(reply.data)


async def test_plan_catalog_is_public_with_prices_and_limits(billing: RunningBilling) -> None:
    reply = await billing.call("plans.list", {})
    plans = {p["code"]: p for p in reply.data["items"]}
    assert set(plans) >= {"free", "starter", "pro"}
    assert plans["free"]["price_cents"] == 0
    assert plans["starter"]["price_cents"] > 0
    assert plans["pro"]["limits"]["messages"] > plans["starter"]["limits"]["messages"]


async def test_new_tenant_gets_the_free_plan_and_its_entitlements(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await billing.publish_event(tenant_created("t_new"), tenant_id="t_new")

    entitlements = await eventually(lambda: kv_entitlements(broker, "t_new"))
    assert entitlements.plan == "free"
    assert entitlements.limits.messages == 100
    assert await subscription(billing, "t_new") == {
        "plan": "free",
        "status": "active",
        "current_period_end": None,
        "cancel_at_period_end": False,
    }
    changed = await billing.sql(
        "SELECT subject FROM billing.outbox WHERE subject LIKE 'events.billing.t_new.%'"
    )
    assert {row.subject for row in changed} == {
        "events.billing.t_new.subscription.changed",
        "events.billing.t_new.entitlements.updated",
    }


async def test_tenant_created_twice_gives_the_free_plan_once(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await billing.publish_event(tenant_created("t_twice"), tenant_id="t_twice", event_id="evt_a")
    await billing.publish_event(tenant_created("t_twice"), tenant_id="t_twice", event_id="evt_b")

    async def changes() -> int:
        rows = await billing.sql(
            "SELECT count(*) AS n FROM billing.outbox "
            "WHERE subject = 'events.billing.t_twice.subscription.changed'"
        )
        return int(rows[0].n)

    await eventually(lambda: consumer_drained(broker, "AUTH_EVENTS", "tenant-created"))
    assert await changes() == 1


async def test_subscription_operations_check_the_callers_scopes(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as denied:
        await billing.call("subscription.get", {}, principal("t_1", Scope.CONVERSATIONS_READ))
    assert denied.value.status == 403
    with pytest.raises(AgentbusError) as anonymous:
        await billing.call("subscription.get", {})
    assert anonymous.value.status == 401


async def test_a_service_account_cannot_manage_the_subscription_even_with_the_scope(
    billing: RunningBilling,
) -> None:
    robot = service_account("t_robot", Scope.BILLING_READ, Scope.BILLING_MANAGE)
    for operation, payload in (
        ("subscription.create", {"plan": "starter"}),
        ("subscription.change", {"plan": "starter"}),
        ("subscription.cancel", {"at_period_end": True}),
        ("portal.create", {}),
    ):
        with pytest.raises(AgentbusError) as refused:
            await billing.call(operation, payload, robot)
        assert refused.value.status == 403, operation


async def test_unknown_plan_is_not_found(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as missing:
        await billing.call("subscription.create", {"plan": "platinum"}, principal("t_1"))
    assert missing.value.status == 404
    assert missing.value.code == "plan_not_found"


async def test_paid_plan_without_stripe_is_unavailable(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as unavailable:
        await billing.call("subscription.create", {"plan": "starter"}, principal("t_1"))
    assert unavailable.value.status == 503
    assert unavailable.value.code == "stripe_not_configured"


async def test_subscribe_to_a_paid_plan_through_checkout_completed_by_webhook(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await billing.publish_event(tenant_created("t_paid"), tenant_id="t_paid")
    await eventually(lambda: kv_entitlements(broker, "t_paid"))

    reply = await billing.call("subscription.create", {"plan": "starter"}, principal("t_paid"))
    assert reply.status == 201
    checkout_url = reply.data["checkout_url"]
    assert checkout_url.startswith(stripe_standin.url)

    await stripe_standin.complete_checkout(checkout_url)

    async def on_starter() -> Entitlements | None:
        found = await kv_entitlements(broker, "t_paid")
        return found if found and found.plan == "starter" else None

    entitlements = await eventually(on_starter)
    assert entitlements.limits.messages == 2000
    view = await subscription(billing, "t_paid")
    assert view["plan"] == "starter"
    assert view["status"] == "active"
    assert view["current_period_end"] is not None

    async def paid_invoices() -> list[object]:
        reply = await billing.call("invoices.list", {}, principal("t_paid"))
        return [i for i in reply.data["items"] if i["status"] == "paid"]

    invoices = await eventually(paid_invoices)
    assert invoices[0]["amount_paid"] == 1900


async def subscribed(
    billing: RunningBilling, standin: StandinServer, broker: NatsBroker, tenant_id: str
) -> None:
    await billing.publish_event(tenant_created(tenant_id), tenant_id=tenant_id)
    reply = await billing.call("subscription.create", {"plan": "starter"}, principal(tenant_id))
    await standin.complete_checkout(reply.data["checkout_url"])

    async def active() -> bool:
        view = await subscription(billing, tenant_id)
        return view["plan"] == "starter" and view["status"] == "active"

    await eventually(active)


async def test_change_plan_moves_the_stripe_subscription_with_proration(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_up")

    reply = await billing.call("subscription.change", {"plan": "pro"}, principal("t_up"))
    assert reply.data["plan"] == "pro"

    stripe_sub = await billing.sql(
        "SELECT stripe_subscription_id FROM billing.subscriptions WHERE tenant_id = 't_up'"
    )
    remote = (
        await stripe_standin.client().v1.subscriptions.retrieve_async(stripe_sub[0][0])
    ).to_dict()
    price = remote["items"]["data"][0]["price"]
    assert price["lookup_key"] == "agentbus_pro_month"

    async def pro_entitlements() -> bool:
        found = await kv_entitlements(broker, "t_up")
        return found is not None and found.plan == "pro"

    await eventually(pro_entitlements)


async def test_cancel_at_period_end_keeps_the_plan_until_then(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_later")

    reply = await billing.call("subscription.cancel", {"at_period_end": True}, principal("t_later"))

    assert reply.data["cancel_at_period_end"] is True
    assert reply.data["plan"] == "starter"
    assert reply.data["status"] == "active"


async def test_cancel_now_falls_back_to_free_limits(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_now")

    reply = await billing.call("subscription.cancel", {"at_period_end": False}, principal("t_now"))
    assert reply.data["status"] == "canceled"

    async def free_again() -> bool:
        found = await kv_entitlements(broker, "t_now")
        return found is not None and found.plan == "free" and found.status == "canceled"

    await eventually(free_again)
    # and back to free explicitly, then subscribing again is allowed
    back = await billing.call("subscription.create", {"plan": "free"}, principal("t_now"))
    assert back.status == 200
    assert back.data["subscription"]["plan"] == "free"


async def test_second_paid_subscription_is_refused(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_dup")

    with pytest.raises(AgentbusError) as conflict:
        await billing.call("subscription.create", {"plan": "pro"}, principal("t_dup"))
    assert conflict.value.status == 409
    with pytest.raises(AgentbusError) as to_free:
        await billing.call("subscription.create", {"plan": "free"}, principal("t_dup"))
    assert to_free.value.code == "paid_subscription_active"


async def test_change_without_a_paid_subscription_needs_checkout(
    billing_with_stripe: RunningBilling,
) -> None:
    with pytest.raises(AgentbusError) as conflict:
        await billing_with_stripe.call("subscription.change", {"plan": "pro"}, principal("t_free"))
    assert conflict.value.status == 409
    assert conflict.value.code == "checkout_required"


async def test_billing_portal_session_for_the_tenants_customer(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer
) -> None:
    reply = await billing_with_stripe.call("portal.create", {}, principal("t_portal"))
    assert reply.data["url"].startswith(f"{stripe_standin.url}/portal/")
    again = await billing_with_stripe.call("portal.create", {}, principal("t_portal"))
    assert again.data["url"] != reply.data["url"]
    customers = await billing_with_stripe.sql(
        "SELECT stripe_customer_id FROM billing.customers WHERE tenant_id = 't_portal'"
    )
    assert len(customers) == 1


async def test_summary_combines_subscription_and_usage(billing: RunningBilling) -> None:
    reply = await billing.call("summary.get", {}, principal("t_sum", Scope.BILLING_READ))
    assert reply.data["subscription"]["plan"] == "free"
    assert {m["meter"] for m in reply.data["usage"]["meters"]} == {"messages", "tokens"}
    assert json.dumps(reply.data)


async def test_service_account_without_billing_read_gets_403_from_the_summary(
    billing: RunningBilling,
) -> None:
    robot = service_account("t_sum", Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE)
    with pytest.raises(AgentbusError) as refused:
        await billing.call("summary.get", {}, robot)
    assert refused.value.status == 403
    assert refused.value.details == {"missing_scopes": [Scope.BILLING_READ]}


async def test_stripe_secret_key_never_reaches_the_logs(
    billing_with_stripe: RunningBilling,
) -> None:
    from billing_support import STRIPE_KEY

    # The service under test does not configure the process (pytest owns logging), so set up
    # the service's own logging here, rendered into a buffer of this test, and put pytest's back.
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("billing", level="INFO", fmt="json")
    cast(logging.StreamHandler[Any], root.handlers[0]).setStream(buffer)
    try:
        await billing_with_stripe.call(
            "subscription.create", {"plan": "pro"}, principal("t_secret")
        )
        await billing_with_stripe.call("portal.create", {}, principal("t_secret"))
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    logged = buffer.getvalue()
    assert '"stripe.call"' in logged
    assert STRIPE_KEY not in logged


async def test_failed_renewal_payment_moves_the_tenant_to_free_limits(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    from billing_support import stripe_event
    from localstripe import resources

    billing = billing_with_stripe
    await subscribed(billing, stripe_standin, broker, "t_dunning")
    rows = await billing.sql(
        "SELECT stripe_subscription_id FROM billing.subscriptions WHERE tenant_id = 't_dunning'"
    )
    subscription_id = rows[0][0]
    # Stripe marks the subscription past_due when a renewal fails, then sends the invoice event.
    resources.Subscription._api_retrieve(subscription_id).status = "past_due"
    failed_invoice = {
        "id": "in_renewal",
        "object": "invoice",
        "customer": (
            await billing.sql(
                "SELECT stripe_customer_id FROM billing.customers WHERE tenant_id = 't_dunning'"
            )
        )[0][0],
        "subscription": subscription_id,
        "status": "open",
        "amount_due": 1900,
        "amount_paid": 0,
        "currency": "usd",
        "created": int(datetime.now(UTC).timestamp()),
    }
    await billing.publish_stripe(
        stripe_event(
            "invoice.payment_failed",
            failed_invoice,
            created=int(datetime.now(UTC).timestamp()) + 5,
        )
    )

    async def past_due() -> Entitlements | None:
        found = await kv_entitlements(broker, "t_dunning")
        return found if found and found.status == "past_due" else None

    entitlements = await eventually(past_due)
    assert entitlements.plan == "free"
    invoices = (await billing.call("invoices.list", {}, principal("t_dunning"))).data["items"]
    assert {(i["id"], i["status"]) for i in invoices} >= {("in_renewal", "open")}
