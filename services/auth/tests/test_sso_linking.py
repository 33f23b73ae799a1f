"""Single sign-on and existing accounts: linking one by the provider's verified email only where
the operator allowed it, never an operator's or a second factor's, and one's links listed and
unlinked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auth_support import AuthClient
from sqlalchemy import update
from sso_support import counts, person, provider
from test_mfa import enroll
from test_sso import assert_refused, authorized, sign_in, sso

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import users
from agentbus_shared.testing.oidc import OidcProviderServer

__all__ = ["provider", "sso"]  # fixtures of sso_support and test_sso

LINKING = {"link_existing_accounts": True, "allowed_email_domains": ["example.com"]}


async def identities(client: AuthClient, token: str) -> list[dict[str, Any]]:
    return list((await client.call("sso.identities.list", token=token)).data["items"])


async def test_an_existing_account_is_not_linked_unless_the_provider_may(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso()
    account = await client.register()
    sub, _ = person(provider, client, email=account.email)
    await assert_refused(client, *await authorized(client, provider, sub), "sso_account_exists")


async def test_an_operators_account_is_never_linked_by_email(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    account = await client.register_verified()
    await client.parts.operators.grant(account.email, actor="test")
    sub, _ = person(provider, client, email=account.email)
    await assert_refused(client, *await authorized(client, provider, sub), "sso_account_exists")


async def test_an_account_with_a_second_factor_is_not_linked_before_it_is_passed(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    account = await client.register()
    await enroll(client, account)
    sub, _ = person(provider, client, email=account.email)
    back = await authorized(client, provider, sub)
    await assert_refused(client, *back, "sso_link_needs_password")
    assert await identities(client, account.access_token) == []


async def test_a_mixed_case_email_links_the_account(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    account = await client.register()
    sub, _ = person(provider, client, email=account.email.upper())
    signed_in, _, _ = await sign_in(client, provider, sub)
    assert client.claims(signed_in["tokens"]["access_token"]).sub == account.user_id


async def test_the_owner_sees_their_links_and_unlinks_one(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    account = await client.register()
    sub, _ = person(provider, client, email=account.email)
    await sign_in(client, provider, sub)
    [linked] = await identities(client, account.access_token)
    assert (linked["provider"], linked["provider_name"], linked["email"]) == (
        "mock",
        "Mock ID",
        account.email,
    )
    assert linked["last_login_at"] is not None
    await client.call(
        "sso.identities.unlink", {"identity_id": linked["id"]}, token=account.access_token
    )
    assert await identities(client, account.access_token) == []
    unlinked = await client.parts.audit.entries(kind=AuditKind.SSO_UNLINKED)
    assert [(e.user_id, e.details) for e in unlinked] == [(account.user_id, {"provider": "mock"})]
    before = await counts(client)
    signed_in, _, _ = await sign_in(client, provider, sub)  # the provider may link it again
    assert client.claims(signed_in["tokens"]["access_token"]).sub == account.user_id
    assert (await counts(client)).users == before.users


async def test_another_persons_link_is_not_found(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    owner = await client.register()
    sub, _ = person(provider, client, email=owner.email)
    await sign_in(client, provider, sub)
    [linked] = await identities(client, owner.access_token)
    stranger = await client.register()
    error = await client.error(
        "sso.identities.unlink", {"identity_id": linked["id"]}, token=stranger.access_token
    )
    assert (error.status, error.code) == (404, "sso_identity_not_found")
    assert await identities(client, stranger.access_token) == []
    assert len(await identities(client, owner.access_token)) == 1


async def test_links_outlive_an_admin_reset_but_a_disabled_account_cannot_use_them(
    sso: Callable[..., Any], provider: OidcProviderServer
) -> None:
    client = await sso(**LINKING)
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    sub, _ = person(provider, client, email=member.email)
    await sign_in(client, provider, sub)
    await client.call("password.admin_reset", {"user_id": member.user_id}, token=owner.access_token)
    signed_in, _, _ = await sign_in(client, provider, sub)
    assert client.claims(signed_in["tokens"]["access_token"]).sub == member.user_id
    fresh = signed_in["tokens"]["access_token"]
    await client.call("users.disable", {"current_password": client.password}, token=fresh)
    await assert_refused(client, *await authorized(client, provider, sub), "account_disabled")


async def test_an_account_disabled_while_its_provider_sign_in_is_checked_gets_no_session(
    sso: Callable[..., Any], provider: OidcProviderServer, monkeypatch: Any
) -> None:
    client = await sso(**LINKING)
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    sub, _ = person(provider, client, email=member.email)
    await sign_in(client, provider, sub)
    service = client.parts.sso
    found = service._account

    async def disabled_meanwhile(*args: Any) -> Any:
        user = await found(*args)
        async with client.parts.db.transaction() as session:
            await session.execute(
                update(users).where(users.c.id == member.user_id).values(status="disabled")
            )
        return user

    monkeypatch.setattr(service, "_account", disabled_meanwhile)
    await assert_refused(client, *await authorized(client, provider, sub), "account_disabled")
