"""kill -9 of auth, then of billing, under concurrent HTTP load; the dev supervisor restarts them.

Every request gets an answer — a success, or a 503/504 problem with ``Retry-After`` — within
its route's timeout, never a reset connection or a hang. No event is lost: every tenant that
auth created (including any whose answer was a 504 because auth died after committing) gets its
free plan in billing; every webhook accepted is applied once. No effect is doubled.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fault_support import (
    PASSWORD,
    Answer,
    FaultStack,
    assert_error_answer,
    retry_delay,
    send,
)

from agentbus_shared.testing.stack import signed_stripe_event, stripe_customer_created
from agentbus_shared.testing.waiting import eventually, in_thread

pytestmark = [pytest.mark.fault, pytest.mark.slow]

ROUTE_TIMEOUT = 5.0  # GATEWAY_TUNING__RPC_TIMEOUT: the register and billing routes' timeout
WORKERS = 6


def _check_answers(answers: list[Answer], ok: int) -> None:
    for answer in answers:
        assert answer.error is None, answer  # an answer, not a reset or a client timeout
        assert answer.seconds < ROUTE_TIMEOUT + 5, answer
        if answer.status != ok:
            assert_error_answer(answer)


async def _load_through_a_crash(
    faults: FaultStack,
    service: str,
    request: object,
    *,
    ok: int,
    after_restart: int = 10,
) -> list[Answer]:
    """Run ``request`` from WORKERS loops; kill ``service`` once some answers are in, keep on
    until it is back and ``after_restart`` more successes came, then stop."""
    answers: list[Answer] = []
    stop = asyncio.Event()
    back_at: list[int] = []

    async def worker(client: httpx.AsyncClient, number: int) -> None:
        sent = 0
        while not stop.is_set():
            answer = await request(client, f"{number}-{sent}")  # type: ignore[operator]
            sent += 1
            answers.append(answer)
            if answer.status != ok:
                await asyncio.sleep(retry_delay(answer))

    async def crash() -> None:
        await eventually(
            lambda: sum(a.status == ok for a in answers) >= 10, what="load under way", timeout=60
        )
        old_pid = faults.stack.kill(service)
        await asyncio.to_thread(faults.stack.wait_restarted, service, old_pid)
        back_at.append(len(answers))
        await eventually(
            lambda: sum(a.status == ok for a in answers[back_at[0] :]) >= after_restart,
            what=f"{service} serves again",
            timeout=60,
        )
        stop.set()

    async with httpx.AsyncClient(base_url=faults.stack.gateway_url, timeout=60) as client:
        await asyncio.wait_for(
            asyncio.gather(crash(), *(worker(client, n) for n in range(WORKERS))), timeout=120
        )
    return answers


@pytest.mark.timeout(300)
async def test_auth_then_billing_killed_under_load(faults: FaultStack) -> None:
    # ---------------------------------------------------------------- auth
    async def register(client: httpx.AsyncClient, tag: str) -> Answer:
        return await send(
            client,
            tag,
            "POST",
            "/api/v1/auth/register",
            json={
                "email": f"crash-{tag}@example.com",
                "password": PASSWORD,
                "tenant_name": f"crash-auth-{tag}",
            },
        )

    answers = await _load_through_a_crash(faults, "auth", register, ok=201)
    _check_answers(answers, ok=201)
    assert any(a.status != 201 for a in answers), "no request noticed auth's death"
    created = {a.body["tenant"]["id"] for a in answers if a.status == 201}
    in_auth = {
        row[0]
        for row in faults.stack.psql("SELECT id FROM auth.tenants WHERE name LIKE 'crash-auth-%'")
    }
    assert created <= in_auth  # a 504 may hide a registration auth committed before it died
    refused = {a.label for a in answers if a.status != 201}
    for tag in refused:  # ... but then it is whole: a user, a tenant, a membership
        users = faults.stack.psql(
            f"SELECT count(*) FROM auth.users WHERE email = 'crash-{tag}@example.com'"
        )
        tenants = faults.stack.psql(
            f"SELECT count(*) FROM auth.tenants WHERE name = 'crash-auth-{tag}'"
        )
        assert users == tenants

    def every_tenant_has_its_free_plan() -> bool:
        rows = faults.stack.psql(
            "SELECT tenant_id, plan FROM billing.subscriptions "
            "WHERE tenant_id IN (SELECT id FROM auth.tenants WHERE name LIKE 'crash-auth-%')"
        )
        return {r[0] for r in rows} == in_auth and {r[1] for r in rows} == {"free"}

    await eventually(
        in_thread(every_tenant_has_its_free_plan),
        what="billing applied every tenant.created",
        timeout=60,
    )

    # ---------------------------------------------------------------- billing
    owner = await _register_owner(faults)
    secret = faults.stack.stripe_webhook_secret()
    webhooks: list[Answer] = []

    async def read_or_webhook(client: httpx.AsyncClient, tag: str) -> Answer:
        """Half the load reads the subscription (served by billing), half delivers webhooks
        (taken in by the gateway; billing applies them from the stream)."""
        if int(tag.split("-", maxsplit=1)[0]) % 2:
            return await send(client, tag, "GET", "/api/v1/billing/subscription", headers=owner)
        event_id = f"evt_crash{tag.replace('-', '_')}"
        while True:
            payload, headers = signed_stripe_event(
                stripe_customer_created(event_id, f"tnt_crash{tag.replace('-', '_')}"), secret
            )
            answer = await send(
                client, event_id, "POST", "/webhooks/stripe", content=payload, headers=headers
            )
            webhooks.append(answer)
            if answer.status == 200:
                return Answer(tag, 200, {}, None)
            await asyncio.sleep(retry_delay(answer))

    answers = await _load_through_a_crash(faults, "billing", read_or_webhook, ok=200)
    _check_answers(answers, ok=200)
    _check_answers(webhooks, ok=200)
    reads = [a for a in answers if int(a.label.split("-", maxsplit=1)[0]) % 2 != 0]
    assert any(a.status != 200 for a in reads), "no read noticed billing's absence"
    accepted = {a.label for a in webhooks if a.status == 200}

    def every_webhook_applied_once() -> bool:
        rows = faults.stack.psql(
            "SELECT count(*), count(DISTINCT id) FROM billing.stripe_events "
            "WHERE id LIKE 'evt_crash%' AND status = 'processed' AND outcome = 'applied'"
        )
        return rows == [[str(len(accepted)), str(len(accepted))]]

    await eventually(
        in_thread(every_webhook_applied_once),
        what="billing applied every accepted webhook",
        timeout=90,
    )
    customers = faults.stack.psql(
        "SELECT count(*), count(DISTINCT stripe_customer_id) FROM billing.customers "
        "WHERE tenant_id LIKE 'tnt_crash%'"
    )
    assert customers == [[str(len(accepted)), str(len(accepted))]]


async def _register_owner(faults: FaultStack) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=faults.stack.gateway_url, timeout=30) as client:

        async def registered() -> dict[str, str] | None:
            response = await client.post(
                "/api/v1/auth/register",
                json={"email": "owner@example.com", "password": PASSWORD, "tenant_name": "Owner"},
            )
            if response.status_code != 201:
                return None
            return {"Authorization": f"Bearer {response.json()['tokens']['access_token']}"}

        return await eventually(registered, what="the owner registered", interval=0.5)
