"""Single sign-on against a real OpenID Connect provider (oidc-provider-mock, its own process):
the whole redirect flow, account matching, and every refusal changing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from auth_support import AuthClient, StartAuth
from sqlalchemy import func, update
from sso_support import counts, person, provider
from test_mfa import enroll

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.crypto import token_hash
from agentbus_auth.errors import SsoEmailUnverified
from agentbus_auth.models import sso_logins
from agentbus_auth.settings import SsoProviderSettings
from agentbus_auth.sso.oidc import OidcIdentity
from agentbus_auth.sso.provisioning import SsoProvisioning
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.errors import AgentbusError
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.oidc import OidcProviderServer

__all__ = ["provider"]  # the mock provider's process, a fixture of sso_support

SETTINGS_OF_THE_MOCK = SsoProviderSettings(
    id="mock", name="Mock ID", issuer="http://127.0.0.1:1", client_id="c", client_secret="s"
)


@pytest.fixture
async def sso(
    start_auth: StartAuth,
    client_for: Callable[[ServiceRuntime], AuthClient],
    provider: OidcProviderServer,
) -> Callable[..., Any]:
    """``await sso(**provider_overrides, signup_policy=...)``: a client of auth with the mock
    provider configured."""

    async def start(signup_policy: str = "public", **overrides: Any) -> AuthClient:
        runtime = await start_auth(
            signup_policy=signup_policy, sso_providers=[provider.provider_entry(**overrides)]
        )
        return client_for(runtime)

    return start


@dataclass
class Login:
    """A login started at the provider, as the browser holds it."""

    authorization_url: str
    browser_binding: str

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.authorization_url).query).items()}


def answer(location: str) -> dict[str, str]:
    """The ``code`` and ``state`` the provider sends back."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def start(client: AuthClient, return_to: str = "/app/chat") -> Login:
    reply = await client.call("sso.start", {"provider": "mock", "return_to": return_to})
    return Login(reply.data["authorization_url"], reply.data["browser_binding"])


async def finish(client: AuthClient, login: Login, back: dict[str, str]) -> dict[str, Any]:
    reply = await client.call(
        "sso.callback", {"provider": "mock", **back, "browser_binding": login.browser_binding}
    )
    return dict(reply.data)


async def refusal(client: AuthClient, login: Login, back: dict[str, str]) -> AgentbusError:
    return await client.error(
        "sso.callback", {"provider": "mock", **back, "browser_binding": login.browser_binding}
    )


async def authorized(
    client: AuthClient, provider: OidcProviderServer, sub: str
) -> tuple[Login, dict[str, str]]:
    """A login ``sub`` authorized at the provider: what the browser holds and brings back."""
    login = await start(client)
    return login, answer(await provider.sign_in(login.authorization_url, sub))


async def sign_in(
    client: AuthClient, provider: OidcProviderServer, sub: str
) -> tuple[dict[str, Any], Login, dict[str, str]]:
    """The whole flow for ``sub``: start, authorize at the provider, come back."""
    login, back = await authorized(client, provider, sub)
    return await finish(client, login, back), login, back


# ---------------------------------------------------------------- providers and start
async def test_the_login_page_lists_the_configured_providers(sso: Callable[..., Any]) -> None:
    configured = await sso()
    assert (await configured.call("sso.providers")).data == {
        "items": [{"id": "mock", "name": "Mock ID"}]
    }


async def test_without_providers_the_list_is_empty(client: AuthClient) -> None:
    assert (await client.call("sso.providers")).data == {"items": []}


async def test_start_sends_state_nonce_and_pkce_s256(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    login = await start(client)
    query = login.query
    assert login.authorization_url.startswith(f"{provider.url}/oauth2/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == "agentbus-tests"
    assert set(query["scope"].split()) >= {"openid", "email"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43 and len(query["nonce"]) >= 43
    assert query["redirect_uri"].endswith("/api/v1/auth/sso/mock/callback")
    assert query["state"] not in login.browser_binding


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/app",
        "//evil.example/app",
        "/\\evil.example",
        "/\t/evil.example",
        "app",
        "/app/caf\u00e9",
        "/app/\u0085next",
    ],
)
async def test_a_return_to_outside_this_site_is_refused(
    sso: Callable[..., Any], return_to: str
) -> None:
    client = await sso()
    error = await client.error("sso.start", {"provider": "mock", "return_to": return_to})
    assert (error.status, error.code) == (400, "sso_return_to_refused")


async def test_an_unknown_provider_is_not_found(sso: Callable[..., Any]) -> None:
    client = await sso()
    error = await client.error("sso.start", {"provider": "nope"})
    assert (error.status, error.code) == (404, "sso_provider_unknown")


# ---------------------------------------------------------------- signing in
async def test_a_new_person_gets_an_account_and_a_session(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, email = person(provider, client)
    signed_in, _, _ = await sign_in(client, provider, sub)
    assert signed_in["return_to"] == "/app/chat"
    claims = client.claims(signed_in["tokens"]["access_token"])
    me = await client.call("me", token=signed_in["tokens"]["access_token"])
    user = me.data["user"]
    assert (user["id"], user["email"], user["display_name"]) == (claims.sub, email, "Ada Lovelace")
    assert user["email_verified"] is True
    assert me.data["tenant"]["role"] == "owner"
    assert [e.details for e in await client.parts.audit.entries(kind=AuditKind.SSO_LINKED)] == [
        {"provider": "mock", "new_account": True}
    ]
    assert len(await client.parts.audit.entries(kind=AuditKind.SSO_LOGIN)) == 1


async def test_a_returning_person_is_matched_by_sub_after_their_email_changed(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    first, _, _ = await sign_in(client, provider, sub)
    provider.set_user(sub, email=client.new_email("renamed"), email_verified=False)
    again, _, _ = await sign_in(client, provider, sub)
    first_claims = client.claims(first["tokens"]["access_token"])
    again_claims = client.claims(again["tokens"]["access_token"])
    assert (again_claims.sub, again_claims.tid) == (first_claims.sub, first_claims.tid)
    assert len(await client.parts.audit.entries(kind=AuditKind.SSO_LINKED)) == 1


async def test_a_verified_email_links_the_existing_account_where_the_provider_may(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(link_existing_accounts=True, allowed_email_domains=["example.com"])
    account = await client.register()
    sub, _ = person(provider, client, email=account.email)
    signed_in, _, _ = await sign_in(client, provider, sub)
    claims = client.claims(signed_in["tokens"]["access_token"])
    assert (claims.sub, claims.tid) == (account.user_id, account.tenant_id)
    linked = await client.parts.audit.entries(kind=AuditKind.SSO_LINKED)
    assert [(e.user_id, e.details["new_account"]) for e in linked] == [(account.user_id, False)]
    alert = await client.mail.wait(account.email, "security_alert")
    assert "Single sign-on with Mock ID was linked to your account" in alert.as_string()


async def test_new_people_join_the_providers_tenant_with_its_default_role(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    first = await sso()
    owner = await first.register()
    await first.runtime.stop()
    configured = await sso(
        tenant_id=owner.tenant_id, default_role="viewer", allowed_email_domains=["example.com"]
    )
    sub, _ = person(provider, configured)
    signed_in, _, _ = await sign_in(configured, provider, sub)
    claims = configured.claims(signed_in["tokens"]["access_token"])
    assert (claims.tid, claims.roles) == (owner.tenant_id, ["viewer"])


async def test_an_account_with_a_second_factor_gets_the_mfa_challenge_not_a_session(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(link_existing_accounts=True, allowed_email_domains=["example.com"])
    account = await client.register()
    sub, _ = person(provider, client, email=account.email)
    await sign_in(client, provider, sub)  # linked while the account had no second factor
    await enroll(client, account)
    before = await counts(client)
    signed_in, _, _ = await sign_in(client, provider, sub)
    assert signed_in["tokens"] is None
    assert signed_in["mfa"]["mfa_required"] is True
    assert signed_in["mfa"]["challenge_token"]
    assert (await counts(client)).sessions == before.sessions
    # A login is audited once a session is issued: here the code's, not the provider's.
    assert len(await client.parts.audit.entries(kind=AuditKind.SSO_LOGIN)) == 1  # the first
    challenged = await client.parts.audit.entries(kind=AuditKind.SSO_MFA_CHALLENGED)
    assert [(e.user_id, e.details) for e in challenged] == [(account.user_id, {"provider": "mock"})]


async def test_provisioning_refuses_an_identity_without_a_verified_email(
    sso: Callable[..., Any],
) -> None:
    client = await sso()
    provisioning = SsoProvisioning(client.parts.hasher)
    unverified = OidcIdentity(subject="s", email="a@example.com", email_verified=False, name=None)
    before = await counts(client)
    for identity in (unverified, replace(unverified, email=None, email_verified=True)):
        async with client.parts.db.transaction() as session:
            with pytest.raises(SsoEmailUnverified):
                await provisioning.create_account(
                    session, SETTINGS_OF_THE_MOCK, identity, RequestMeta(request_id="r")
                )
    assert await counts(client) == before


# ---------------------------------------------------------------- refusals, each changing nothing
async def assert_refused(client: AuthClient, login: Login, back: dict[str, str], code: str) -> None:
    """The callback is refused with ``code``, audited, and creates no account, link or session."""
    before = await counts(client)
    error = await refusal(client, login, back)
    assert error.code == code
    refused = await client.parts.audit.entries(kind=AuditKind.SSO_REFUSED)
    assert refused and refused[0].details == {"provider": "mock", "reason": code}
    assert await counts(client) == before


async def test_an_unverified_email_never_takes_over_an_existing_account(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    account = await client.register()
    sub, _ = person(provider, client, email=account.email, email_verified=False)
    await assert_refused(client, *await authorized(client, provider, sub), "sso_email_unverified")


async def test_an_email_domain_the_provider_may_not_sign_in_is_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(allowed_email_domains=["agentbus.example"])
    sub, _ = person(provider, client)
    await assert_refused(client, *await authorized(client, provider, sub), "sso_domain_refused")


async def test_a_forged_state_is_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    login, back = await authorized(client, provider, sub)
    forged = back | {"state": "forged-" + back["state"][7:]}
    await assert_refused(client, login, forged, "sso_state_invalid")


async def test_a_state_brought_back_by_another_browser_is_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    login, back = await authorized(client, provider, sub)
    other_browser = Login(login.authorization_url, (await start(client)).browser_binding)
    await assert_refused(client, other_browser, back, "sso_state_invalid")
    assert (await finish(client, login, back))["tokens"]  # the right browser still finishes


async def test_an_expired_login_is_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    login, back = await authorized(client, provider, sub)
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(sso_logins)
            .where(sso_logins.c.state_hash == token_hash(back["state"]))
            .values(expires_at=func.now() - timedelta(seconds=1))
        )
    await assert_refused(client, login, back, "sso_state_invalid")


async def test_two_callbacks_with_one_state_at_once_sign_in_once(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    login, back = await authorized(client, provider, sub)
    before = await counts(client)
    callback = {"provider": "mock", **back, "browser_binding": login.browser_binding}
    answers = await asyncio.gather(
        *(client.call("sso.callback", callback) for _ in range(2)), return_exceptions=True
    )
    assert [a.code for a in answers if isinstance(a, AgentbusError)] == ["sso_state_invalid"]
    after = await counts(client)
    assert (after.users, after.identities, after.sessions) == (
        before.users + 1,
        before.identities + 1,
        before.sessions + 1,
    )


async def test_a_replayed_state_and_a_replayed_code_are_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    sub, _ = person(provider, client)
    _, login, back = await sign_in(client, provider, sub)
    await assert_refused(client, login, back, "sso_state_invalid")
    fresh = await start(client)
    replayed_code = {"code": back["code"], "state": fresh.query["state"]}
    await assert_refused(client, fresh, replayed_code, "sso_code_refused")


async def test_an_id_token_with_another_nonce_is_refused(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    """An attacker's authorization request: the victim's state and PKCE challenge, another nonce."""
    client = await sso()
    sub, _ = person(provider, client)
    login = await start(client)
    crafted = urlsplit(login.authorization_url)
    query = login.query | {"nonce": "attackers-nonce-" + "x" * 32}
    crafted_url = urlunsplit(crafted._replace(query=urlencode(query)))
    back = answer(await provider.sign_in(crafted_url, sub))
    assert back["state"] == login.query["state"]
    await assert_refused(client, login, back, "sso_token_invalid")


async def test_a_denial_at_the_provider_is_refused(sso: Callable[..., Any]) -> None:
    client = await sso()
    login = await start(client)
    back = {"state": login.query["state"], "error": "access_denied"}
    await assert_refused(client, login, back, "sso_denied")


@pytest.mark.parametrize(
    ("policy", "auto_provision", "code"),
    [
        ("public", False, "sso_no_account"),
        ("invite_only", True, "sso_signup_closed"),
        ("approval", True, "sso_signup_closed"),
    ],
)
async def test_an_unknown_person_is_refused_unless_provisioning_and_signup_allow(
    sso: Callable[..., Any],
    provider: OidcProviderServer,
    policy: str,
    auto_provision: bool,
    code: str,
) -> None:
    client = await sso(signup_policy=policy, auto_provision=auto_provision)
    sub, _ = person(provider, client)
    await assert_refused(client, *await authorized(client, provider, sub), code)
