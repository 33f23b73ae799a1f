"""Single sign-on when the provider fails: down, slow, or naming another issuer. The login is
given up before the gateway stops waiting, with nothing created, and a provider that failed is
not asked again by every login."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auth_support import AuthClient, StartAuth
from sso_support import counts
from test_sso_id_tokens import CLIENT_ID, CLIENT_SECRET, TokenIssuer, idp, signed

from agentbus_auth.errors import SsoProviderUnavailable
from agentbus_auth.sso.oidc import OidcProviders
from agentbus_auth.sso.service import DEADLINE
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.servers import free_port

__all__ = ["idp"]  # the provider served over HTTP, a fixture of test_sso_id_tokens

GATEWAY_WAIT = 5.0
"""The gateway's default wait for auth (``rpc_timeout``)."""


async def auth_with(
    start_auth: StartAuth, client_for: Callable[[ServiceRuntime], AuthClient], issuer: str
) -> AuthClient:
    entry = {"id": "idp", "name": "IdP", "issuer": issuer, "client_id": CLIENT_ID}
    runtime = await start_auth(
        sso_providers=[entry | {"client_secret": CLIENT_SECRET, "auto_provision": True}]
    )
    return client_for(runtime)


async def started(client: AuthClient) -> tuple[dict[str, Any], dict[str, str]]:
    """A login at ``idp``: what the browser holds, and the authorization request's query."""
    reply = (await client.call("sso.start", {"provider": "idp"})).data
    query = {k: v[0] for k, v in parse_qs(urlsplit(reply["authorization_url"]).query).items()}
    return reply, query


async def test_a_slow_provider_is_given_up_before_the_gateway_stops_waiting(
    idp: TokenIssuer, start_auth: StartAuth, client_for: Callable[[ServiceRuntime], AuthClient]
) -> None:
    client = await auth_with(start_auth, client_for, idp.url)
    login, query = await started(client)
    idp.id_token = signed(idp.claims(nonce=query["nonce"], email=client.new_email("slow")))
    idp.code_challenge = query["code_challenge"]  # without the deadline, an account and a session
    idp.token_delay = GATEWAY_WAIT + 1  # each read within its timeout, the whole beyond
    before = await counts(client)
    began = time.monotonic()
    error = await client.error(
        "sso.callback",
        {"provider": "idp", "state": query["state"], "code": "c"}
        | {"browser_binding": login["browser_binding"]},
    )
    assert (error.status, error.code) == (503, "sso_provider_unavailable")
    assert DEADLINE <= time.monotonic() - began < GATEWAY_WAIT
    assert await counts(client) == before


async def test_a_provider_that_is_down_is_refused_with_nothing_created(
    start_auth: StartAuth, client_for: Callable[[ServiceRuntime], AuthClient]
) -> None:
    client = await auth_with(start_auth, client_for, f"http://127.0.0.1:{free_port()}")
    before = await counts(client)
    error = await client.error("sso.start", {"provider": "idp"})
    assert (error.status, error.code) == (503, "sso_provider_unavailable")
    assert await counts(client) == before


async def test_a_discovery_naming_another_issuer_is_refused_and_not_read_again_at_once(
    idp: TokenIssuer, start_auth: StartAuth, client_for: Callable[[ServiceRuntime], AuthClient]
) -> None:
    idp.discovery_overrides = {"issuer": "https://impostor.example"}
    client = await auth_with(start_auth, client_for, idp.url)
    for _ in range(2):
        error = await client.error("sso.start", {"provider": "idp"})
        assert error.code == "sso_provider_unavailable"
    assert idp.discoveries == 1


async def test_logins_at_once_read_the_discovery_once(idp: TokenIssuer) -> None:
    providers = OidcProviders()
    read = await asyncio.gather(*(providers.metadata(idp.settings) for _ in range(5)))
    assert {m.issuer for m in read} == {idp.url}
    assert idp.discoveries == 1


async def test_a_failed_discovery_is_asked_again_after_a_while(idp: TokenIssuer) -> None:
    now = [0.0]
    providers = OidcProviders(clock=lambda: now[0])
    idp.discovery_overrides = {"issuer": "https://impostor.example"}
    for _ in range(2):
        with pytest.raises(SsoProviderUnavailable):
            await providers.metadata(idp.settings)
    assert idp.discoveries == 1
    idp.discovery_overrides = {}
    now[0] = 31.0
    assert (await providers.metadata(idp.settings)).issuer == idp.url
    assert idp.discoveries == 2
