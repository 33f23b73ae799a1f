"""Single sign-on over HTTP end to end: a browser (an httpx client with its cookie jar) follows
every redirect between the real gateway, the real auth service and the mock provider's process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from auth_support import AuthClient, StartAuth
from gateway_support import RunningGateway, gateway_settings, serve_gateway
from sso_support import counts, person, provider

from agentbus_gateway.browser_sessions import csrf_token
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.oidc import OidcProviderServer
from agentbus_shared.testing.plugin import BusLogins

__all__ = ["provider"]  # the mock provider's process, a fixture of sso_support

REFRESH = "/api/v1/auth/refresh"


@dataclass
class Stack:
    gateway: RunningGateway
    auth: AuthClient
    provider: OidcProviderServer


@pytest.fixture
async def stack(
    nats_url: str,
    redis_url: str,
    bus_logins: BusLogins,
    start_auth: StartAuth,
    client_for: Callable[[ServiceRuntime], AuthClient],
    provider: OidcProviderServer,
) -> AsyncIterator[Stack]:
    """The gateway, and auth behind it with the mock provider and the gateway as its public URL."""
    settings = gateway_settings(nats_url, redis_url, **bus_logins.login("gateway"))
    async with serve_gateway(settings) as gateway:
        runtime = await start_auth(
            public_url=gateway.url, sso_providers=[provider.provider_entry()]
        )
        yield Stack(gateway, client_for(runtime), provider)


async def authorize_at_the_provider(
    browser: httpx.AsyncClient, stack: Stack, sub: str, return_to: str = "/app/chat"
) -> str:
    """Start at the gateway and authorize at the provider: where the provider sends the browser."""
    started = await browser.get("/api/v1/auth/sso/mock/start", params={"return_to": return_to})
    assert started.status_code == 302, started.text
    assert started.headers["location"].startswith(stack.provider.url)
    authorized = await browser.post(started.headers["location"], data={"sub": sub})
    assert authorized.status_code == 302, authorized.text
    back = authorized.headers["location"]
    assert back.startswith(f"{stack.gateway.url}/api/v1/auth/sso/mock/callback?")
    return back


async def test_a_browser_follows_the_redirects_and_lands_signed_in(stack: Stack) -> None:
    sub, email = person(stack.provider, stack.auth)
    async with httpx.AsyncClient(base_url=stack.gateway.url) as browser:
        back = await browser.get(await authorize_at_the_provider(browser, stack, sub))
        assert back.status_code == 302
        assert back.headers["location"] == "/app/chat"
        assert "access_token" not in back.text and "refresh_token" not in back.text
        proof = csrf_token(browser.cookies.get("agentbus_refresh", path=REFRESH) or "")
        headers = {"X-Agentbus-Session": "cookie", "Origin": stack.gateway.url}
        renewed = await browser.post(REFRESH, headers=headers | {"X-CSRF-Token": proof})
    assert renewed.status_code == 200, renewed.text
    claims = stack.auth.claims(renewed.json()["access_token"])
    me = await stack.auth.call("me", token=renewed.json()["access_token"])
    assert (me.data["user"]["id"], me.data["user"]["email"]) == (claims.sub, email)


async def test_a_forged_state_over_http_lands_on_the_login_page_with_nothing_created(
    stack: Stack,
) -> None:
    sub, _ = person(stack.provider, stack.auth)
    async with httpx.AsyncClient(base_url=stack.gateway.url) as browser:
        back = urlsplit(await authorize_at_the_provider(browser, stack, sub))
        query = {k: v[0] for k, v in parse_qs(back.query).items()}
        forged = "&".join(f"{k}={v}" for k, v in (query | {"state": "forged"}).items())
        before = await counts(stack.auth)
        refused = await browser.get(urlunsplit(back._replace(query=forged)))
    assert refused.headers["location"] == "/login?sso_error=sso_state_invalid"
    assert await counts(stack.auth) == before
    assert not any(c.startswith("agentbus_refresh") for c in refused.headers.get_list("set-cookie"))


async def test_a_callback_opened_in_another_browser_is_refused(stack: Stack) -> None:
    sub, _ = person(stack.provider, stack.auth)
    async with httpx.AsyncClient(base_url=stack.gateway.url) as victim:
        back = await authorize_at_the_provider(victim, stack, sub)
    before = await counts(stack.auth)
    async with httpx.AsyncClient(base_url=stack.gateway.url) as other_browser:
        refused = await other_browser.get(back)
    assert refused.headers["location"] == "/login?sso_error=sso_state_invalid"
    assert await counts(stack.auth) == before


@pytest.mark.parametrize(
    "return_to",
    ["https://evil.example/", "//evil.example/", "/app/caf\u00e9", "/app/\u0085next"],
    ids=["other-origin", "scheme-relative", "non-ascii", "c1-control"],
)
async def test_an_open_redirect_is_refused_before_the_provider(
    stack: Stack, return_to: str
) -> None:
    """Refused at the start, as is a path a Location header cannot carry: a session must never
    be issued for a redirect that cannot be sent."""
    async with httpx.AsyncClient(base_url=stack.gateway.url) as browser:
        started = await browser.get("/api/v1/auth/sso/mock/start", params={"return_to": return_to})
    assert started.status_code == 302
    assert started.headers["location"] == "/login?sso_error=sso_return_to_refused"
    assert "agentbus_sso" not in browser.cookies
