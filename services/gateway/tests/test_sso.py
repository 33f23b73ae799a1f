"""Single sign-on at the edge: start redirects to the provider with the login's browser cookie,
the callback brings that cookie back to auth and lands the browser signed in exactly as a web
login does (the cookie-mode session cookies), or on the login page with the reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gateway_support import (
    FakeAuth,
    FakeService,
    Payload,
    RunningGateway,
    SpawnFake,
    set_cookies,
)

from agentbus_gateway.browser_sessions import csrf_token
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.errors import BadRequest

START = "/api/v1/auth/sso/mock/start"
CALLBACK = "/api/v1/auth/sso/mock/callback"
REFRESH = "/api/v1/auth/refresh"
PROVIDER_URL = "https://idp.example/authorize?state=s1"


async def started(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
    if body["return_to"].startswith("//"):
        raise BadRequest("Only a page of this site.", code="sso_return_to_refused")
    return {"authorization_url": PROVIDER_URL, "browser_binding": "b1", "expires_in": 600}


@pytest.fixture
async def auth_sso(spawn_fake: SpawnFake, fake_auth: FakeAuth) -> FakeService:
    """Auth's SSO operations: the callback signs in the browser that holds ``b1`` (a session, or
    an MFA challenge for ``code=mfa``), and refuses any other."""

    async def callback(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        if body.get("browser_binding") != "b1" or body.get("state") != "s1":
            raise BadRequest("Not this browser's login.", code="sso_state_invalid")
        if body.get("error"):
            raise BadRequest("The provider did not sign you in.", code="sso_denied")
        if body.get("code") == "mfa":
            return {"return_to": "/app/chat", "mfa": {"challenge_token": "mfa_c 1"}}
        return {"return_to": "/app/chat", "tokens": fake_auth.refresh_tokens.pair()}

    return await spawn_fake("auth", {"sso.start": started, "sso.callback": callback})


def callback_of(auth: FakeService) -> dict[str, Any]:
    """What the gateway sent auth's ``sso.callback``: the provider's answer and the cookie."""
    return next(body for operation, body in auth.calls if operation == "sso.callback")


async def test_start_redirects_to_the_provider_with_the_logins_browser_cookie(
    client: httpx.AsyncClient, auth_sso: FakeService
) -> None:
    response = await client.get(START, params={"return_to": "/app/chat"})
    assert response.status_code == 302
    assert response.headers["location"] == PROVIDER_URL
    assert "agentbus_sso=b1; HttpOnly; Max-Age=600; Path=/; SameSite=Lax" in set_cookies(response)
    assert "RateLimit-Policy" in response.headers
    assert auth_sso.calls == [("sso.start", {"provider": "mock", "return_to": "/app/chat"})]


async def test_a_refused_start_lands_on_the_login_page_with_the_reason(
    client: httpx.AsyncClient, auth_sso: FakeService
) -> None:
    response = await client.get(START, params={"return_to": "//evil.example"})
    assert response.status_code == 302
    assert response.headers["location"] == "/login?sso_error=sso_return_to_refused"
    assert set_cookies(response) == []


async def test_the_callback_signs_the_browser_in_as_a_web_login_does(
    gateway: RunningGateway, client: httpx.AsyncClient, auth_sso: FakeService
) -> None:
    await client.get(START)
    back = await client.get(CALLBACK, params={"state": "s1", "code": "c1"})
    assert back.status_code == 302
    assert back.headers["location"] == "/app/chat"
    assert back.content == b""
    assert callback_of(auth_sso)["browser_binding"] == "b1"
    set = set_cookies(back)
    assert f"agentbus_refresh=rt_1; HttpOnly; Path={REFRESH}; SameSite=Strict" in set
    assert f"agentbus_csrf={csrf_token('rt_1')}; Path=/; SameSite=Strict" in set
    assert any(c.startswith('agentbus_sso=""') and "Max-Age=0" in c for c in set)
    # The web app then renews its access token from the cookie, as after a password login.
    proof = {
        "X-Agentbus-Session": "cookie",
        "Origin": gateway.url,
        "X-CSRF-Token": csrf_token("rt_1"),
    }
    renewed = await client.post(REFRESH, headers=proof)
    assert renewed.status_code == 200, renewed.text
    assert "refresh_token" not in renewed.json()


async def test_an_account_with_a_second_factor_lands_on_the_code_step(
    client: httpx.AsyncClient, auth_sso: FakeService
) -> None:
    await client.get(START)
    back = await client.get(CALLBACK, params={"state": "s1", "code": "mfa"})
    assert back.status_code == 302
    assert back.headers["location"] == "/login?next=%2Fapp%2Fchat#sso_challenge=mfa_c%201"
    assert not any(c.startswith("agentbus_refresh") for c in set_cookies(back))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"state": "forged", "code": "c1"}, "sso_state_invalid"),
        ({"state": "s1", "error": "access_denied"}, "sso_denied"),
    ],
    ids=["forged-state", "provider-error"],
)
async def test_a_refused_callback_lands_on_the_login_page_signed_out(
    client: httpx.AsyncClient, auth_sso: FakeService, params: dict[str, str], code: str
) -> None:
    await client.get(START)
    back = await client.get(CALLBACK, params=params)
    assert back.status_code == 302
    assert back.headers["location"] == f"/login?sso_error={code}"
    assert not any(c.startswith(("agentbus_refresh", "agentbus_csrf")) for c in set_cookies(back))
    assert any(c.startswith('agentbus_sso=""') for c in set_cookies(back))


async def test_a_callback_from_another_browser_is_refused(
    client: httpx.AsyncClient, gateway: RunningGateway, auth_sso: FakeService
) -> None:
    await client.get(START)
    async with httpx.AsyncClient(base_url=gateway.url) as other_browser:
        back = await other_browser.get(CALLBACK, params={"state": "s1", "code": "c1"})
    assert back.headers["location"] == "/login?sso_error=sso_state_invalid"
    assert callback_of(auth_sso)["browser_binding"] is None


async def test_the_openapi_document_shows_the_sso_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    start = paths["/api/v1/auth/sso/{provider}/start"]["get"]
    callback = paths["/api/v1/auth/sso/{provider}/callback"]["get"]
    assert "302" in start["responses"] and "302" in callback["responses"]
    assert (start["x-rate-group"], callback["x-rate-group"]) == ("anonymous", "strict")
    assert {p["name"] for p in callback["parameters"]} >= {"provider", "state", "code", "error"}
    assert paths["/api/v1/auth/sso/providers"]["get"]["x-rate-group"] == "anonymous"
