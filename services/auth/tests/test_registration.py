"""Registration, the signup policies and the caller's profile."""

from __future__ import annotations

from auth_support import AuthClient, ClientFor, ReadEvents, StartAuth

from agentbus_auth.accounts.service import EMAIL_TAKEN_PER_IP
from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.throttle import account_key
from agentbus_shared.contracts.common import Scope


async def test_register_creates_tenant_and_owner_with_tokens(
    client: AuthClient, events: ReadEvents
) -> None:
    reply = await client.call(
        "register",
        {"email": "Ada@Example.com", "password": client.password, "tenant_name": "Analytical"},
    )
    assert reply.status == 201
    data = reply.data
    assert data["user"]["email"] == "Ada@example.com"  # the domain part is case-insensitive
    assert data["tenant"] == {
        "id": data["tenant"]["id"],
        "name": "Analytical",
        "role": "owner",
        "status": "active",
    }
    assert data["status"] == "active"
    claims = client.claims(data["tokens"]["access_token"])
    assert claims.sub == data["user"]["id"]
    assert claims.tid == data["tenant"]["id"]
    assert claims.roles == ["owner"]
    assert Scope.MEMBERS_MANAGE in claims.scope.split()
    assert data["tokens"]["token_type"] == "Bearer"
    assert data["tokens"]["expires_in"] == 900

    created = await events("events.auth.*.tenant.created", 1)
    registered = await events("events.auth.*.user.registered", 1)
    assert created[0]["data"]["owner_user_id"] == data["user"]["id"]
    assert created[0]["tenantid"] == data["tenant"]["id"]
    assert registered[0]["data"]["email"] == "Ada@example.com"


async def test_registering_an_existing_email_conflicts_case_insensitively(
    client: AuthClient,
) -> None:
    await client.register("grace@example.com")
    error = await client.error(
        "register",
        {"email": "GRACE@example.com", "password": client.password, "tenant_name": "Other"},
    )
    assert (error.status, error.code) == (409, "email_taken")


async def test_repeated_email_taken_answers_exhaust_the_signup_quota(client: AuthClient) -> None:
    taken = await client.register()
    probe = {"email": taken.email, "password": client.password, "tenant_name": "Probe"}
    for _ in range(EMAIL_TAKEN_PER_IP):
        assert (await client.error("register", probe)).code == "email_taken"
    refused = await client.error("register", probe)
    assert (refused.status, refused.code) == (429, "too_many_attempts")
    assert 0 < refused.retry_after <= 3600
    fresh = {**probe, "email": client.new_email()}
    assert (await client.error("register", fresh)).status == 429  # no oracle left either
    assert (await client.call("register", fresh, ip="203.0.113.9")).status == 201

    audited = await client.parts.audit.entries(kind=AuditKind.REGISTER_EMAIL_TAKEN, limit=100)
    assert len(audited) == EMAIL_TAKEN_PER_IP
    assert {e.details["email_hash"] for e in audited} == {account_key(taken.email)}
    assert all(e.ip == client.ip and taken.email not in repr(e) for e in audited)


async def test_weak_password_is_refused_with_the_reason(client: AuthClient) -> None:
    error = await client.error(
        "register", {"email": "weak@example.com", "password": "Password1234!", "tenant_name": "W"}
    )
    assert (error.status, error.code) == (422, "weak_password")
    assert error.details[0]["loc"] == ["password"]
    assert "common" in error.details[0]["msg"]

    short = await client.error(
        "register", {"email": "weak@example.com", "password": "sh0rt", "tenant_name": "W"}
    )
    assert "12 characters" in short.message


async def test_password_made_of_the_email_or_name_is_refused(client: AuthClient) -> None:
    error = await client.error(
        "register",
        {
            "email": "margaret.hamilton@example.com",
            "password": "hamilton-rocket-1969",
            "tenant_name": "Apollo",
        },
    )
    assert error.code == "weak_password"
    assert "email address or name" in error.message


async def test_malformed_registration_is_a_validation_error(client: AuthClient) -> None:
    error = await client.error("register", {"email": "not-an-email", "password": "x"})
    assert (error.status, error.code) == (422, "validation_failed")


async def test_invite_only_policy_closes_registration(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(signup_policy="invite_only"))
    error = await client.error(
        "register", {"email": "closed@example.com", "password": client.password, "tenant_name": "C"}
    )
    assert (error.status, error.code) == (403, "signup_closed")


async def test_approval_policy_holds_the_account_until_an_operator_approves(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(signup_policy="approval"))
    reply = await client.call(
        "register", {"email": "wait@example.com", "password": client.password, "tenant_name": "W"}
    )
    assert reply.status == 202
    assert reply.data["status"] == "pending_approval"
    assert reply.data["tokens"] is None

    refused = await client.error(
        "login", {"email": "wait@example.com", "password": client.password}
    )
    assert (refused.status, refused.code) == (403, "account_pending_approval")

    await client.parts.accounts.approve("wait@example.com", actor="operator")
    tokens = (await client.login("wait@example.com", client.password)).data
    assert client.claims(tokens["access_token"]).roles == ["owner"]


async def test_me_tells_the_user_their_tenant_and_scopes(client: AuthClient) -> None:
    account = await client.register(display_name="Ada Lovelace", tenant_name="Engines")
    me = (await client.call("me", token=account.access_token)).data
    assert me["user"] == {
        "id": account.user_id,
        "email": account.email,
        "display_name": "Ada Lovelace",
        "email_verified": False,
        "mfa_enabled": False,
    }
    assert me["tenant"] == {
        "id": account.tenant_id,
        "name": "Engines",
        "role": "owner",
        "status": "active",
    }
    assert Scope.SERVICE_ACCOUNTS_MANAGE in me["scopes"]
    assert Scope.PLATFORM_OPERATE not in me["scopes"]


async def test_me_needs_a_caller(client: AuthClient) -> None:
    error = await client.error("me")
    assert error.status == 401
