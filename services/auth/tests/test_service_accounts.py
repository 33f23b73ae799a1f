"""Service accounts: scopes within the creator's, secrets shown once, the client-credentials grant."""

from __future__ import annotations

from auth_support import AuthClient, ReadEvents, client_credentials
from sqlalchemy import text


async def test_client_credentials_grant_issues_a_service_account_token(client: AuthClient) -> None:
    owner = await client.register()
    account = await client.create_service_account(
        owner, ["conversations:read", "conversations:write"]
    )
    assert account["client_secret"].startswith("abs_")
    reply = await client.call(
        "oauth.token",
        client_credentials(account),
    )
    token = reply.data
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 900)
    assert token["scope"] == "conversations:read conversations:write"
    claims = client.claims(token["access_token"])
    assert (claims.typ, claims.sub, claims.tid, claims.sid) == (
        "service_account",
        account["id"],
        owner.tenant_id,
        account["id"],
    )
    assert claims.roles == []
    narrowed = await client.call(
        "oauth.token",
        client_credentials(account, scope="conversations:read"),
    )
    assert narrowed.data["scope"] == "conversations:read"


async def test_the_secret_is_stored_hashed_and_never_shown_again(client: AuthClient) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    listed = (await client.call("service_accounts.list", token=owner.access_token)).data
    assert listed["items"][0]["client_id"] == account["client_id"]
    assert "client_secret" not in listed["items"][0]
    async with client.parts.db.session() as session:
        stored = (
            await session.execute(text("SELECT secret_hash FROM auth.service_accounts"))
        ).scalar()
    assert account["client_secret"].encode() not in stored
    assert len(stored) == 32


async def test_scopes_beyond_the_creators_are_refused(client: AuthClient) -> None:
    owner = await client.register()
    beyond = await client.error(
        "service_accounts.create",
        {"name": "x", "scopes": ["platform:operate"]},
        token=owner.access_token,
    )
    assert (beyond.status, beyond.code) == (400, "invalid_scope")
    unknown = await client.error(
        "service_accounts.create",
        {"name": "x", "scopes": ["root:everything"]},
        token=owner.access_token,
    )
    assert unknown.code == "invalid_scope"


async def test_a_token_cannot_ask_for_more_than_the_account_holds(client: AuthClient) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    error = await client.error(
        "oauth.token",
        client_credentials(account, scope="conversations:read billing:manage"),
    )
    assert (error.status, error.code) == (400, "invalid_scope")


async def test_wrong_secret_and_unknown_client_are_refused_alike(client: AuthClient) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    wrong = await client.error(
        "oauth.token",
        {
            "grant_type": "client_credentials",
            "client_id": account["client_id"],
            "client_secret": "abs_wrong",
        },
    )
    unknown = await client.error(
        "oauth.token",
        {
            "grant_type": "client_credentials",
            "client_id": "cli_nobody",
            "client_secret": "abs_wrong",
        },
    )
    assert (wrong.status, wrong.code, wrong.message) == (
        unknown.status,
        unknown.code,
        unknown.message,
    )
    assert wrong.status == 401
    bad_grant = await client.error(
        "oauth.token",
        {"grant_type": "password", "client_id": account["client_id"], "client_secret": "x"},
    )
    assert bad_grant.status == 422


async def test_revoking_an_account_refuses_new_tokens_and_announces_the_old_ones(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    grant = client_credentials(account)
    await client.call("oauth.token", grant)
    await client.call(
        "service_accounts.revoke", {"service_account_id": account["id"]}, token=owner.access_token
    )
    assert (await client.error("oauth.token", grant)).code == "invalid_client"
    revoked = await events("events.auth.*.session.revoked", 1)
    assert revoked[0]["data"]["session_id"] == account["id"]
    assert revoked[0]["data"]["reason"] == "service_account_revoked"
    listed = (await client.call("service_accounts.list", token=owner.access_token)).data
    assert listed["items"][0]["revoked_at"] is not None
    again = await client.call(
        "service_accounts.revoke", {"service_account_id": account["id"]}, token=owner.access_token
    )
    assert again.data is None


async def test_another_tenants_service_account_cannot_be_seen_or_revoked(
    client: AuthClient,
) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    stranger = await client.register()
    listed = (await client.call("service_accounts.list", token=stranger.access_token)).data
    assert listed["items"] == []
    error = await client.error(
        "service_accounts.revoke",
        {"service_account_id": account["id"]},
        token=stranger.access_token,
    )
    assert (error.status, error.code) == (404, "service_account_not_found")


async def test_service_accounts_are_listed_page_by_page(client: AuthClient) -> None:
    owner = await client.register()
    for n in range(3):
        await client.create_service_account(owner, ["conversations:read"], name=f"bot-{n}")
    first = (
        await client.call("service_accounts.list", {"limit": 2}, token=owner.access_token)
    ).data
    rest = (
        await client.call(
            "service_accounts.list",
            {"limit": 2, "cursor": first["next_cursor"]},
            token=owner.access_token,
        )
    ).data
    assert [a["name"] for a in first["items"] + rest["items"]] == ["bot-0", "bot-1", "bot-2"]
    assert rest["next_cursor"] is None


async def test_a_service_account_cannot_manage_service_accounts(client: AuthClient) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["service_accounts:manage"])
    token = await client.service_account_token(account)
    error = await client.error(
        "service_accounts.create", {"name": "child", "scopes": ["conversations:read"]}, token=token
    )
    assert error.status == 403


async def test_a_service_account_without_tenant_read_cannot_read_the_tenant(
    client: AuthClient,
) -> None:
    owner = await client.register()
    account = await client.create_service_account(owner, ["conversations:read"])
    token = await client.service_account_token(account)
    error = await client.error("tenants.current", token=token)
    assert error.status == 403
    assert error.details == {"missing_scopes": ["tenant:read"]}
