"""Who may sign up over HTTP: the real gateway in front of the real auth service answers every
access request alike with a bodiless 202, a spent signup quota with a 429 problem and its
Retry-After, and a person without ``platform:operate`` on an operator route with a 403 problem."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from auth_support import StartAuth
from gateway_support import RunningGateway, gateway_settings, serve_gateway

from agentbus_shared.testing.plugin import BusLogins

PROBLEM = "application/problem+json"
PASSWORD = "glacier-violin-tangerine-42"


@pytest.fixture
async def gateway(
    nats_url: str, redis_url: str, bus_logins: BusLogins, start_auth: StartAuth
) -> AsyncIterator[RunningGateway]:
    """Auth allowing two access requests per client address, then the gateway in front of it
    (which reads auth's signing keys as it starts)."""
    await start_auth(tuning={"signup_ip_limit": 2})
    settings = gateway_settings(nats_url, redis_url, **bus_logins.login("gateway"))
    async with serve_gateway(settings) as gateway:
        yield gateway


async def member_token(browser: httpx.AsyncClient, email: str) -> dict[str, str]:
    """A new tenant's owner (no operator): the header with their access token."""
    registered = await browser.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "tenant_name": "Looms"},
    )
    assert registered.status_code == 201, registered.text
    return {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}


async def test_access_requests_answer_alike_then_429_with_retry_after(
    gateway: RunningGateway,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as browser:
        await member_token(browser, "member@example.com")
        answers = [
            await browser.post("/api/v1/auth/request-access", json={"email": email, "name": "Ada"})
            for email in ("newcomer@example.com", "member@example.com")
        ]
        over = await browser.post(
            "/api/v1/auth/request-access", json={"email": "late@example.com", "name": "Lee"}
        )
    # The same bodiless answer (no content, as every 202 without a result) whoever asks.
    assert [(a.status_code, a.headers.get("content-type"), a.content) for a in answers] == [
        (202, None, b"")
    ] * 2
    assert over.status_code == 429
    assert over.headers["content-type"].startswith(PROBLEM)
    assert over.json()["code"] == "signup_quota_exceeded"
    assert 0 < int(over.headers["retry-after"]) <= 3600


async def test_a_person_without_operator_rights_gets_a_403_problem(
    gateway: RunningGateway,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as browser:
        bearer = await member_token(browser, "member@example.com")
        listed = await browser.get("/api/v1/auth/signup-requests", headers=bearer)
        approved = await browser.post("/api/v1/auth/signup-requests/sreq_x/approve", headers=bearer)
    for refused in (listed, approved):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["status"] == 403
