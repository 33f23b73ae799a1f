"""Browser sessions: in cookie mode the refresh token lives only in an HttpOnly, SameSite=Strict
cookie scoped to the session routes, refresh and logout need a CSRF proof, and API clients keep
the JSON body mode."""

from __future__ import annotations

import httpx
import pytest
from gateway_support import FakeAuth, RunningGateway, TokenFactory, set_cookies

from agentbus_gateway.browser_sessions import SessionCookies, SessionRoutes, csrf_token
from agentbus_shared.contracts import ROUTES

COOKIE_MODE = {"X-Agentbus-Session": "cookie"}
MFA = {"challenge_token": "c", "code": "123456"}
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def browser_headers(gateway: RunningGateway, client: httpx.AsyncClient) -> dict[str, str]:
    """What the web app sends: cookie mode, its own origin, the CSRF cookie copied to the header."""
    proof = client.cookies.get("agentbus_csrf", path="/") or ""
    return {**COOKIE_MODE, "Origin": gateway.url, "X-CSRF-Token": proof}


def assert_no_session_cookies(client: httpx.AsyncClient) -> None:
    assert client.cookies.get("agentbus_refresh", path=REFRESH) is None
    assert client.cookies.get("agentbus_csrf", path="/") is None


async def log_in(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/v1/auth/mfa/complete", json=MFA, headers=COOKIE_MODE)


def test_session_routes_come_from_the_declared_routes() -> None:
    routes = SessionRoutes.of(ROUTES)
    assert routes.spend == {REFRESH}
    # disabling the account ends every session, the browser's too
    assert routes.end == {
        "/api/v1/auth/logout",
        "/api/v1/auth/logout/all",
        "/api/v1/users/me/disable",
    }
    assert {
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/auth/mfa/complete",
        REFRESH,
        "/api/v1/tenants/invites/accept",
    } <= routes.issue
    assert routes.cookie_paths == ("/api/v1/auth/logout", REFRESH, "/api/v1/users/me/disable")


def test_cookies_are_secure_in_production() -> None:
    cookies = SessionCookies(("/api/v1/auth/refresh",), secure=True)
    refresh, *_, csrf = cookies.issue("rt")
    assert b"; Secure" in refresh[1] and b"HttpOnly" in refresh[1]
    assert b"; Secure" in csrf[1] and b"HttpOnly" not in csrf[1]
    # __Host-: no sibling site can set it (Secure, Path=/, no Domain)
    assert csrf[1].startswith(f"__Host-agentbus_csrf={csrf_token('rt')};".encode())
    assert b"; Path=/;" in csrf[1] and b"Domain" not in csrf[1]
    *_, cleared = cookies.clear()
    assert cleared[1].startswith(b'__Host-agentbus_csrf="";') and b"Max-Age=0" in cleared[1]


async def test_api_clients_keep_the_refresh_token_in_the_json_body(
    client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    tokens = await client.post("/api/v1/auth/mfa/complete", json=MFA)
    assert tokens.status_code == 200
    assert tokens.json()["refresh_token"] == "rt_1"
    assert set_cookies(tokens) == []
    renewed = await client.post(REFRESH, json={"refresh_token": "rt_1"})
    assert renewed.json()["refresh_token"] == "rt_2"


async def test_cookie_mode_keeps_the_refresh_token_out_of_the_body_in_an_httponly_cookie(
    client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    tokens = await log_in(client)
    assert tokens.status_code == 200
    body = tokens.json()
    assert "refresh_token" not in body
    assert body["access_token"] == "at_1" and body["expires_in"] == 600
    assert int(tokens.headers["content-length"]) == len(tokens.content)
    cookies = set_cookies(tokens)
    for path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
        assert f"agentbus_refresh=rt_1; HttpOnly; Path={path}; SameSite=Strict" in cookies
    assert f"agentbus_csrf={csrf_token('rt_1')}; Path=/; SameSite=Strict" in cookies
    assert not any("Secure" in cookie for cookie in cookies)  # a test environment, over http


async def test_refresh_in_cookie_mode_spends_the_cookie_with_a_csrf_proof(
    gateway: RunningGateway, client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    renewed = await client.post(REFRESH, headers=browser_headers(gateway, client))
    assert renewed.status_code == 200, renewed.text
    assert "refresh_token" not in renewed.json()
    assert ("refresh", {"refresh_token": "rt_1"}) in fake_auth.calls
    assert client.cookies.get("agentbus_refresh", path=REFRESH) == "rt_2"
    again = await client.post(REFRESH, headers=browser_headers(gateway, client))
    assert again.status_code == 200
    assert client.cookies.get("agentbus_refresh", path=REFRESH) == "rt_3"


@pytest.mark.parametrize(
    "forged",
    [
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": csrf_token("rt_someone_else")},
        {"Origin": "https://evil.example"},
        {"Origin": ""},
    ],
    ids=["no-proof", "proof-of-another-token", "other-origin", "no-origin"],
)
async def test_refresh_in_cookie_mode_without_the_csrf_proof_is_refused(
    gateway: RunningGateway,
    client: httpx.AsyncClient,
    fake_auth: FakeAuth,
    forged: dict[str, str],
) -> None:
    await log_in(client)
    refused = await client.post(REFRESH, headers=browser_headers(gateway, client) | forged)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert not any(operation == "refresh" for operation, _ in fake_auth.calls)
    assert (await client.post(REFRESH, headers=browser_headers(gateway, client))).status_code == 200


async def test_a_refused_refresh_clears_the_cookies(
    gateway: RunningGateway, client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    missing = await client.post(REFRESH, headers={**COOKIE_MODE, "Origin": gateway.url})
    assert missing.status_code == 401
    assert missing.json()["code"] == "refresh_cookie_missing"
    await log_in(client)
    fake_auth.refresh_tokens.spent.add("rt_1")  # spent elsewhere: auth refuses it
    reused = await client.post(REFRESH, headers=browser_headers(gateway, client))
    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_refresh_token"
    assert any(
        c.startswith('agentbus_refresh="";') and "Max-Age=0" in c for c in set_cookies(reused)
    )
    assert_no_session_cookies(client)


async def test_logout_in_cookie_mode_needs_the_proof_and_clears_the_cookies(
    gateway: RunningGateway, client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    bearer = tokens.bearer(sid="s_browser")
    forged = {**browser_headers(gateway, client), "X-CSRF-Token": "x", **bearer}
    refused = await client.post("/api/v1/auth/logout", headers=forged)
    assert refused.status_code == 403
    logout = await client.post(
        "/api/v1/auth/logout", headers={**browser_headers(gateway, client), **bearer}
    )
    assert logout.status_code == 204
    cleared = set_cookies(logout)
    assert (
        'agentbus_refresh=""; HttpOnly; Max-Age=0; Path=/api/v1/auth/refresh; SameSite=Strict'
        in (cleared)
    )
    assert_no_session_cookies(client)


async def test_refresh_in_cookie_mode_spends_the_cookie_never_a_token_in_the_body(
    gateway: RunningGateway, client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    renewed = await client.post(
        REFRESH,
        json={"refresh_token": "rt_someone_else"},
        headers=browser_headers(gateway, client),
    )
    assert renewed.status_code == 200, renewed.text
    refreshed = [body for operation, body in fake_auth.calls if operation == "refresh"]
    assert refreshed == [{"refresh_token": "rt_1"}]


async def test_after_a_cookie_mode_logout_the_old_refresh_token_is_refused_by_auth(
    gateway: RunningGateway, client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    headers = {**browser_headers(gateway, client), **tokens.bearer(sid="s_browser")}
    assert (await client.post(LOGOUT, headers=headers)).status_code == 204
    assert fake_auth.logged_out == ["s_browser"]

    client.cookies.set("agentbus_refresh", "rt_1", path=REFRESH)
    client.cookies.set("agentbus_csrf", csrf_token("rt_1"), path="/")
    replayed = await client.post(REFRESH, headers=browser_headers(gateway, client))
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "invalid_refresh_token"
    assert fake_auth.refresh_tokens.issued == 1


async def test_logout_with_an_expired_access_token_still_revokes_the_cookies_session(
    gateway: RunningGateway, client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    fake_auth.refresh_tokens.access_token = tokens.issue(sid="s_browser")
    expired = tokens.bearer(sid="s_browser", iat=1, nbf=1, exp=2)
    logout = await client.post(LOGOUT, headers={**browser_headers(gateway, client), **expired})
    assert logout.status_code == 204, logout.text
    assert ("refresh", {"refresh_token": "rt_1"}) in fake_auth.calls
    assert fake_auth.logged_out == ["s_browser"]
    assert_no_session_cookies(client)


async def test_logout_with_an_expired_token_and_a_spent_cookie_is_refused_and_clears_the_cookies(
    gateway: RunningGateway, client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    await log_in(client)
    fake_auth.refresh_tokens.spent.add("rt_1")
    expired = tokens.bearer(sid="s_browser", iat=1, nbf=1, exp=2)
    logout = await client.post(LOGOUT, headers={**browser_headers(gateway, client), **expired})
    assert logout.status_code == 401
    assert logout.json()["code"] == "invalid_token"
    assert fake_auth.logged_out == []
    assert_no_session_cookies(client)


async def test_the_openapi_document_describes_cookie_mode(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "refresh_token" not in schemas["TokenPair"]["required"]
    assert "cookie mode" in schemas["TokenPair"]["properties"]["refresh_token"]["description"]
    assert "refresh_token" in schemas["RefreshCommand"]["required"]  # API clients still send it
    refresh = document["paths"][REFRESH]["post"]["parameters"]
    assert {p["name"] for p in refresh} == {"X-Agentbus-Session", "X-CSRF-Token"}
    login = document["paths"]["/api/v1/auth/token"]["post"]["parameters"]
    assert [p["name"] for p in login] == ["X-Agentbus-Session"]
