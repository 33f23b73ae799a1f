"""PostgreSQL unavailable: readiness says so, requests get a clear 503, recovery needs no restart.

The test stops PostgreSQL with a fast shutdown (SIGINT to the postmaster, as ``pg_ctl stop -m
fast`` does) and later starts it again on the same port and data directory.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
from fault_support import (
    PASSWORD,
    FaultStack,
    assert_error_answer,
    ready_status,
    send,
    sign_up,
)

from agentbus_shared.testing.stack import signed_stripe_event, stripe_customer_created
from agentbus_shared.testing.waiting import eventually, in_thread

pytestmark = [pytest.mark.fault, pytest.mark.slow]

SERVICES = ("auth", "chat", "billing")


@pytest.mark.timeout(180)
async def test_postgres_outage_is_503_dependency_unavailable_and_recovers(
    faults: FaultStack,
) -> None:
    stack = faults.stack
    pids = {name: stack.pid(name) for name in ("gateway", *SERVICES)}
    # billing's log from now on: the tests before this one shared the stack
    logged_before = len(stack.log("billing"))
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        bearer = (await sign_up(client, "pg@example.com", "Before")).headers

        await asyncio.to_thread(faults.stop_server, "postgres", signal.SIGINT)

        # Each service's readiness names the database; the gateway's reflects the services'.
        for name in SERVICES:
            url = faults.service_url(name)
            await eventually(
                in_thread(lambda u=url: ready_status(u) == 503),
                what=f"{name} not ready without PostgreSQL",
            )
            report = (await client.get(f"{url}/health/ready")).json()
            assert report["checks"]["database"] == "unavailable", (name, report)

        def gateway_sees_every_service_down() -> bool:
            report = httpx.get(f"{stack.gateway_url}/health/ready", timeout=5).json()
            assert report["checks"]["redis"] == "ok", report
            return {report["checks"][name] for name in SERVICES} == {"unavailable"}

        await eventually(
            in_thread(gateway_sees_every_service_down),
            what="the gateway's readiness reflects the services'",
        )
        assert await asyncio.to_thread(ready_status, stack.gateway_url) == 503

        # Calls that need the database: a problem saying so, with Retry-After, no hang.
        calls = [
            (
                "register",
                "POST",
                "/api/v1/auth/register",
                {
                    "json": {
                        "email": "pg2@example.com",
                        "password": PASSWORD,
                        "tenant_name": "During",
                    }
                },
            ),
            (
                "login",
                "POST",
                "/api/v1/auth/token",
                {"json": {"email": "pg@example.com", "password": PASSWORD}},
            ),
            ("me", "GET", "/api/v1/auth/me", {"headers": bearer}),
            ("subscription", "GET", "/api/v1/billing/subscription", {"headers": bearer}),
            ("conversations", "GET", "/api/v1/conversations", {"headers": bearer}),
            ("chat", "POST", "/api/v1/chat", {"headers": bearer, "json": {"message": "hello"}}),
        ]
        for label, method, path, kwargs in calls:
            answer = await send(client, label, method, path, **kwargs)
            assert answer.seconds < 15, answer
            assert_error_answer(answer, allowed=(503,))
            assert answer.body["code"] == "dependency_unavailable", answer

        # A Stripe event arriving meanwhile: the gateway (no database) stores it in JetStream;
        # billing's consumer fails on the database and holds it until PostgreSQL is back.
        payload, headers = signed_stripe_event(
            stripe_customer_created("evt_during_outage", "tnt_during_outage"),
            stack.stripe_webhook_secret(),
        )
        delivered = await client.post("/webhooks/stripe", content=payload, headers=headers)
        assert delivered.status_code == 200, delivered.text
        await eventually(
            in_thread(
                lambda: "consume.holding_through_outage" in stack.log("billing")[logged_before:]
            ),
            what="billing holds the event through the outage",
        )

        started = time.monotonic()
        faults.start_server("postgres")

        # Recovery without restarting a service: readiness first, then a write.
        for name in SERVICES:
            url = faults.service_url(name)
            await eventually(
                in_thread(lambda u=url: ready_status(u) == 200), what=f"{name} ready again"
            )
        await eventually(
            in_thread(lambda: ready_status(stack.gateway_url) == 200), what="gateway ready again"
        )
        tenant = (await sign_up(client, "pg3@example.com", "After")).tenant_id
        me = await client.get("/api/v1/auth/me", headers=bearer)
        assert me.status_code == 200, me.text
        await eventually(
            in_thread(
                lambda: (
                    faults.stack.psql(
                        f"SELECT plan FROM billing.subscriptions WHERE tenant_id = '{tenant}'"
                    )
                    == [["free"]]
                )
            ),
            what="billing applied the new tenant's free plan",
        )
        await eventually(
            in_thread(
                lambda: (
                    faults.stack.psql(
                        "SELECT status FROM billing.stripe_events WHERE id = 'evt_during_outage'"
                    )
                    == [["processed"]]
                )
            ),
            what="billing applied the event it held",
        )
        assert "consume.outage_over" in stack.log("billing")[logged_before:]
        assert faults.stack.psql(
            "SELECT count(*) FROM billing.customers WHERE tenant_id = 'tnt_during_outage'"
        ) == [["1"]]
        assert time.monotonic() - started < 60
    assert {name: stack.pid(name) for name in pids} == pids
    # The registration refused during the outage left nothing behind.
    assert faults.stack.psql("SELECT count(*) FROM auth.users WHERE email = 'pg2@example.com'") == [
        ["0"]
    ]
