"""Stripe webhooks: stored once, applied once, newest state wins, failures dead-lettered, replay."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from billing_support import (
    WEBHOOK_SECRET,
    GatewayDouble,
    RunningBilling,
    StandinServer,
    consumer_drained,
    make_settings,
    operator,
    principal,
    quiet,
    snapshot,
    stripe_event,
)
from faststream.nats import NatsBroker
from nats.js.api import RawStreamMsg
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import Row, text

from agentbus_billing.app import build
from agentbus_shared.bus import EventPublisher, RpcClient
from agentbus_shared.contracts.streams import DEAD_LETTERS
from agentbus_shared.errors import AgentbusError
from agentbus_shared.servers import free_port
from agentbus_shared.testing.stack import stripe_signature
from agentbus_shared.testing.waiting import eventually


def invoice(
    invoice_id: str, tenant_id: str, *, status: str = "paid", amount: int = 1900
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": f"cus_{tenant_id}",
        "status": status,
        "amount_due": amount,
        "amount_paid": amount if status == "paid" else 0,
        "currency": "usd",
        "created": int(time.time()) - 60,
        "subscription_details": {"metadata": {"tenant_id": tenant_id}},
    }


def stripe_subscription(
    sub_id: str, tenant_id: str, *, status: str, lookup_key: str, cancel_at_period_end: bool = False
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": f"cus_{tenant_id}",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {"tenant_id": tenant_id},
        "items": {
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "price": {"id": f"price_{lookup_key}", "lookup_key": lookup_key},
                    "current_period_start": now - 3600,
                    "current_period_end": now + 30 * 86400,
                }
            ]
        },
    }


async def stored_events(billing: RunningBilling, event_id: str) -> list[Row[Any]]:
    return await billing.sql(
        "SELECT status, attempts, outcome, last_error FROM billing.stripe_events WHERE id = :id",
        id=event_id,
    )


async def test_webhook_delivered_three_times_is_applied_once(
    billing: RunningBilling, gateway_double: GatewayDouble, broker: NatsBroker
) -> None:
    event = stripe_event("invoice.paid", invoice("in_3x", "t_3x"), created=int(time.time()))
    body = json.dumps(event).encode()
    async with httpx.AsyncClient() as client:
        answers = [
            (
                await client.post(
                    gateway_double.webhook_url,
                    content=body,
                    headers={"Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET)},
                )
            ).json()
            for _ in range(3)
        ]
    assert [a["duplicate"] for a in answers] == [False, True, True]
    # and once more past the intake's dedup window: the consumer itself must not apply it again
    await billing.publish_stripe(event, msg_id="redelivered-later")

    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))
    rows = await stored_events(billing, event["id"])
    assert [(r.status, r.attempts, r.outcome) for r in rows] == [("processed", 1, "applied")]
    invoices = await billing.sql("SELECT status, amount_paid FROM billing.invoices")
    assert [(r.status, r.amount_paid) for r in invoices] == [("paid", 1900)]
    changes = await billing.sql(
        "SELECT count(*) AS n FROM billing.outbox WHERE subject = 'events.billing.t_3x.invoice.changed'"
    )
    assert changes[0].n == 1


async def test_badly_signed_webhook_never_reaches_the_stream(
    billing: RunningBilling, gateway_double: GatewayDouble
) -> None:
    body = json.dumps(stripe_event("invoice.paid", invoice("in_x", "t_x"), created=1)).encode()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            gateway_double.webhook_url,
            content=body,
            headers={"Stripe-Signature": stripe_signature(body, "whsec_wrong")},
        )
    assert answer.status_code == 400
    assert gateway_double.received == []


async def test_subscription_updated_before_created_ends_in_the_right_state(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    now = int(time.time())
    created = stripe_event(
        "customer.subscription.created",
        stripe_subscription(
            "sub_ooo", "t_ooo", status="incomplete", lookup_key="agentbus_starter_month"
        ),
        created=now - 10,
    )
    updated = stripe_event(
        "customer.subscription.updated",
        stripe_subscription(
            "sub_ooo",
            "t_ooo",
            status="active",
            lookup_key="agentbus_pro_month",
            cancel_at_period_end=True,
        ),
        created=now,
    )
    await billing.publish_stripe(updated)
    await eventually(lambda: stored_events(billing, updated["id"]))
    await billing.publish_stripe(created)
    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))

    view = (await billing.call("subscription.get", {}, principal("t_ooo"))).data
    assert (view["plan"], view["status"], view["cancel_at_period_end"]) == ("pro", "active", True)
    outcomes = {
        r.id: r.outcome for r in await billing.sql("SELECT id, outcome FROM billing.stripe_events")
    }
    assert outcomes == {updated["id"]: "applied", created["id"]: "stale"}


async def test_handler_that_keeps_failing_is_dead_lettered_with_its_error(
    service_env: dict[str, str], streams: None, broker: NatsBroker
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        stripe_api_key="sk_test_down", stripe_api_base=unreachable, tuning={"stripe_max_retries": 0}
    )
    runtime = build(settings, configure_process=False)
    completed = stripe_event(
        "checkout.session.completed",
        {
            "id": "cs_test_down",
            "object": "checkout.session",
            "mode": "subscription",
            "client_reference_id": "t_down",
            "customer": "cus_down",
            "subscription": "sub_down",
        },
        created=int(time.time()),
    )
    async with runtime.lifespan():
        billing = RunningBilling(runtime, RpcClient(broker, timeout=15), EventPublisher(broker))
        await billing.publish_stripe(completed)

        async def dead() -> list[Any]:
            page = (await billing.call("events.list", {"status": "dead_lettered"}, operator())).data
            return list(page["items"])

        items = await eventually(dead, timeout=60)
    assert items[0]["id"] == completed["id"]
    assert items[0]["attempts"] == 3
    assert "StripeUnavailable" in items[0]["last_error"]
    js = broker.connection.jetstream()
    letter = await js.get_last_msg(DEAD_LETTERS.name, "dlq.billing.stripe-webhooks")
    assert letter.headers is not None
    assert "StripeUnavailable" in letter.headers["Ab-Dlq-Error"]
    assert json.loads(letter.data or b"{}")["id"] == completed["id"]


async def test_malformed_event_is_dead_lettered_at_once(billing: RunningBilling) -> None:
    await billing.publish_stripe({"id": "evt_malformed", "type": "invoice.paid", "data": "nope"})

    rows = await eventually(lambda: stored_events(billing, "evt_malformed"))
    assert (rows[0].status, rows[0].attempts) == ("dead_lettered", 1)
    assert rows[0].last_error.startswith("ValidationError")


async def test_events_are_for_platform_operators_only(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as denied:
        await billing.call("events.list", {}, principal("t_1"))
    assert denied.value.status == 403
    with pytest.raises(AgentbusError) as invalid:
        await billing.call(
            "events.replay", {"from_seq": 1, "since": "2026-01-01T00:00:00Z"}, operator()
        )
    assert invalid.value.status == 422


async def test_events_list_pages_newest_first(billing: RunningBilling, broker: NatsBroker) -> None:
    now = int(time.time())
    for n in range(5):
        await billing.publish_stripe(
            stripe_event("invoice.paid", invoice(f"in_page{n}", "t_page"), created=now + n)
        )
    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))

    first = (await billing.call("events.list", {"limit": 3}, operator())).data
    second = (
        await billing.call("events.list", {"limit": 3, "cursor": first["next_cursor"]}, operator())
    ).data
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert second["next_cursor"] is None
    filtered = (await billing.call("events.list", {"type": "customer.created"}, operator())).data
    assert filtered["items"] == []


async def test_replay_from_sequence_1_changes_nothing(
    billing_with_stripe: RunningBilling, stripe_standin: StandinServer, broker: NatsBroker
) -> None:
    billing = billing_with_stripe
    reply = await billing.call("subscription.create", {"plan": "starter"}, principal("t_replay"))
    await stripe_standin.complete_checkout(reply.data["checkout_url"])
    await eventually(
        lambda: billing.sql(
            "SELECT 1 FROM billing.subscriptions WHERE tenant_id = 't_replay' AND plan = 'starter'"
        )
    )
    await billing.call("subscription.change", {"plan": "pro"}, principal("t_replay"))
    await billing.call("subscription.cancel", {"at_period_end": True}, principal("t_replay"))
    await eventually(
        lambda: billing.sql(
            "SELECT 1 FROM billing.stripe_events WHERE type = 'customer.subscription.updated' "
            "GROUP BY type HAVING count(*) = 2"
        )
    )
    await quiet(billing, broker)
    before = await snapshot(billing)
    stream = await broker.connection.jetstream().stream_info("STRIPE_WEBHOOKS")

    first = await billing.call("events.replay", {"from_seq": 1}, operator())
    await quiet(billing, broker)
    after_one = await snapshot(billing)
    second = await billing.call("events.replay", {"from_seq": 1}, operator())
    await quiet(billing, broker)

    assert first.status == 202
    assert first.data["count"] == stream.state.messages
    assert first.data["applied"] == 0
    assert first.data["failed"] == 0
    assert after_one == before
    assert await snapshot(billing) == before
    assert second.data == first.data


async def test_replay_repairs_an_event_that_was_dead_lettered(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    foreign = stripe_event(
        "customer.subscription.created",
        stripe_subscription("sub_fix", "t_fix", status="active", lookup_key="unknown_key"),
        created=int(time.time()),
    )
    foreign["data"]["object"]["items"]["data"][0]["price"]["id"] = "price_later"
    await billing.publish_stripe(foreign)
    rows = await eventually(lambda: stored_events(billing, foreign["id"]))
    assert rows[0].status == "dead_lettered"
    assert "is not in the plan catalog" in rows[0].last_error

    # the operator provisions the missing price (as stripe-setup would), then replays
    async with billing.runtime.database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO billing.plan_prices (plan, price_id, product_id, lookup_key) "
                "VALUES ('starter', 'price_later', 'prod_agentbus_starter', 'agentbus_starter_month')"
            )
        )
    dry = await billing.call(
        "events.replay", {"type": "customer.subscription.created", "dry_run": True}, operator()
    )
    assert (dry.data["count"], dry.data["applied"], dry.data["dry_run"]) == (1, 1, True)
    assert (await stored_events(billing, foreign["id"]))[0].status == "dead_lettered"

    done = await billing.call(
        "events.replay", {"type": "customer.subscription.created"}, operator()
    )

    assert (done.data["count"], done.data["applied"]) == (1, 1)
    assert (await stored_events(billing, foreign["id"]))[0].status == "processed"
    view = (await billing.call("subscription.get", {}, principal("t_fix"))).data
    assert (view["plan"], view["status"]) == ("starter", "active")


async def test_replay_since_a_time_reads_only_newer_events(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await billing.publish_stripe(
        stripe_event("invoice.paid", invoice("in_since", "t_since"), created=int(time.time()))
    )
    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))

    future = await billing.call("events.replay", {"since": "2099-01-01T00:00:00Z"}, operator())
    past = await billing.call("events.replay", {"since": "2020-01-01T00:00:00Z"}, operator())

    assert future.data["count"] == 0
    assert (past.data["count"], past.data["applied"], past.data["unchanged"]) == (1, 0, 1)


async def test_invoices_page_newest_first_for_the_tenant_only(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    now = int(time.time())
    for n in range(5):
        bill = invoice(f"in_mine{n}", "t_inv", amount=100 * (n + 1))
        bill["created"] = now - 1000 + n
        await billing.publish_stripe(stripe_event("invoice.finalized", bill, created=now + n))
    await billing.publish_stripe(
        stripe_event("invoice.paid", invoice("in_theirs", "t_other"), created=now)
    )
    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))

    first = (await billing.call("invoices.list", {"limit": 2}, principal("t_inv"))).data
    rest = (
        await billing.call(
            "invoices.list", {"limit": 10, "cursor": first["next_cursor"]}, principal("t_inv")
        )
    ).data
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert ids == [f"in_mine{n}" for n in (4, 3, 2, 1, 0)]
    assert rest["next_cursor"] is None
    for cursor in ("not-a-cursor", "%%%", _cursor_of("[1,2]"), _cursor_of('[{"a":1}]')):
        with pytest.raises(AgentbusError) as bad:
            await billing.call("invoices.list", {"cursor": cursor}, principal("t_inv"))
        assert (bad.value.status, bad.value.code) == (400, "invalid_cursor")
        with pytest.raises(AgentbusError) as bad_events:
            await billing.call("events.list", {"cursor": cursor}, operator())
        assert (bad_events.value.status, bad_events.value.code) == (400, "invalid_cursor")


def _cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


async def test_older_invoice_state_never_overwrites_a_newer_one(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    now = int(time.time())
    paid = stripe_event("invoice.paid", invoice("in_order", "t_order"), created=now)
    opened = stripe_event(
        "invoice.finalized", invoice("in_order", "t_order", status="open"), created=now - 5
    )
    same_second_draft = stripe_event(
        "invoice.created", invoice("in_order", "t_order", status="draft"), created=now
    )
    for event in (paid, opened, same_second_draft):
        await billing.publish_stripe(event)
        await eventually(lambda e=event: stored_events(billing, e["id"]))

    rows = await billing.sql("SELECT status FROM billing.invoices WHERE id = 'in_order'")
    assert [r.status for r in rows] == ["paid"]
    outcomes = [
        (await stored_events(billing, e["id"]))[0].outcome for e in (opened, same_second_draft)
    ]
    assert outcomes == ["stale", "stale"]


async def test_event_published_as_plain_text_is_still_applied(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    event = stripe_event("invoice.paid", invoice("in_text", "t_text"), created=int(time.time()))
    await billing.publisher.publish_raw(
        "stripe.webhooks.invoice.paid",
        json.dumps(event).encode(),
        msg_id=event["id"],
        content_type="text/plain",
    )
    await eventually(lambda: consumer_drained(broker, "STRIPE_WEBHOOKS", "stripe-webhooks"))
    assert [r.status for r in await stored_events(billing, event["id"])] == ["processed"]


async def test_event_with_nul_characters_is_stored_and_applied(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    # PostgreSQL stores NUL neither in jsonb nor in text: it used to fail every delivery.
    obj = invoice("in_nul", "t_nul") | {"description": "a\u0000b", "metadata": {"k\u0000": "v"}}
    event = stripe_event("invoice.paid", obj, created=int(time.time()))
    await billing.publish_stripe(event)
    rows = await eventually(lambda: stored_events(billing, event["id"]))
    assert rows[0].status == "processed", rows[0].last_error


async def test_body_that_is_not_json_is_dead_lettered_at_once(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    js = broker.connection.jetstream()
    await billing.publisher.publish_raw(
        "stripe.webhooks.invoice.paid",
        b'{"id": "evt_broken", "type": "invoice.paid", "data": {',
        msg_id="evt_broken",
        content_type="application/json",
    )
    letter = await eventually(
        lambda: _last_dead_letter(js, "dlq.billing.stripe-webhooks", b"evt_broken")
    )
    assert letter.headers is not None
    assert letter.headers["Ab-Dlq-Deliveries"] == "1"
    assert "not valid JSON" in letter.headers["Ab-Dlq-Error"]


async def _last_dead_letter(
    js: JetStreamContext, subject: str, marker: bytes
) -> RawStreamMsg | None:
    try:
        letter = await js.get_last_msg(DEAD_LETTERS.name, subject)
    except NotFoundError:
        return None
    return letter if marker in (letter.data or b"") else None
