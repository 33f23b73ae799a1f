"""PostgreSQL unavailable: readiness says so, requests get a clear 503, recovery needs no restart.

The test stops PostgreSQL with a fast shutdown (SIGINT to the postmaster, as ``pg_ctl stop -m
fast`` does) and later starts it again on the same port and data directory.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from fault_support import (
    PASSWORD,
    FaultStack,
    assert_error_answer,
    customer_created,
    fault_stack,
    ready_status,
    send,
    signed_webhook,
    wait_for,
    webhook_secret,
)

pytestmark = [pytest.mark.fault, pytest.mark.slow]

SERVICES = ("auth", "chat", "billing")


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    yield from fault_stack(tmp_path_factory.mktemp("postgres-outage"))


@pytest.mark.timeout(180)
async def test_postgres_outage_is_503_dependency_unavailable_and_recovers(
    faults: FaultStack,
) -> None:
    stack = faults.stack
    pids = {name: stack.service_pid(name) for name in ("gateway", *SERVICES)}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": "pg@example.com", "password": PASSWORD, "tenant_name": "Before"},
        )
        assert registered.status_code == 201, registered.text
        bearer = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}

        faults.stop_server("postgres", signal.SIGINT)

        # Each service's readiness names the database; the gateway's reflects the services'.
        for name in SERVICES:
            url = faults.service_url(name)
            wait_for(f"{name} not ready without PostgreSQL", lambda u=url: ready_status(u) == 503)
            report = (await client.get(f"{url}/health/ready")).json()
            assert report["checks"]["database"] == "unavailable", (name, report)

        def gateway_sees_every_service_down() -> bool:
            report = httpx.get(f"{stack.gateway_url}/health/ready", timeout=5).json()
            assert report["checks"]["redis"] == "ok", report
            return {report["checks"][name] for name in SERVICES} == {"unavailable"}

        wait_for("the gateway's readiness reflects the services'", gateway_sees_every_service_down)
        assert ready_status(stack.gateway_url) == 503

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
        payload, headers = signed_webhook(
            customer_created("evt_during_outage", "tnt_during_outage"), webhook_secret(stack)
        )
        delivered = await client.post("/webhooks/stripe", content=payload, headers=headers)
        assert delivered.status_code == 200, delivered.text
        wait_for(
            "billing holds the event through the outage",
            lambda: "consume.holding_through_outage" in stack.log("billing"),
        )

        started = time.monotonic()
        faults.start_server("postgres")

        # Recovery without restarting a service: readiness first, then a write.
        for name in SERVICES:
            url = faults.service_url(name)
            wait_for(f"{name} ready again", lambda u=url: ready_status(u) == 200)
        wait_for("gateway ready again", lambda: ready_status(stack.gateway_url) == 200)
        after = await client.post(
            "/api/v1/auth/register",
            json={"email": "pg3@example.com", "password": PASSWORD, "tenant_name": "After"},
        )
        assert after.status_code == 201, after.text
        tenant = after.json()["tenant"]["id"]
        me = await client.get("/api/v1/auth/me", headers=bearer)
        assert me.status_code == 200, me.text
        wait_for(
            "billing applied the new tenant's free plan",
            lambda: (
                faults.psql(f"SELECT plan FROM billing.subscriptions WHERE tenant_id = '{tenant}'")
                == [["free"]]
            ),
        )
        wait_for(
            "billing applied the event it held",
            lambda: (
                faults.psql(
                    "SELECT status FROM billing.stripe_events WHERE id = 'evt_during_outage'"
                )
                == [["processed"]]
            ),
        )
        assert "consume.outage_over" in stack.log("billing")
        assert faults.psql(
            "SELECT count(*) FROM billing.customers WHERE tenant_id = 'tnt_during_outage'"
        ) == [["1"]]
        assert time.monotonic() - started < 60
    assert {name: stack.service_pid(name) for name in pids} == pids
    # The registration refused during the outage left nothing behind.
    assert faults.psql("SELECT count(*) FROM auth.users WHERE email = 'pg2@example.com'") == [["0"]]
