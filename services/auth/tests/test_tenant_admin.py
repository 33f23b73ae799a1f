"""Tenant administration over the bus: name and slug, pending invites, settings with their
webhook checks, and the admin's password reset — each with the refusals around it."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any

import pytest
from auth_support import Account, AuthClient, ReadEvents

from agentbus_shared.contracts.tenant_admin import FLAGS_MAX_BYTES
from agentbus_shared.errors import AgentbusError

SETTINGS: dict[str, Any] = {
    "billing_email": "billing@example.com",
    "contacts": [{"name": "Ada", "email": "ada@example.com", "role": "security"}],
    "webhook_url": "https://93.184.215.14/hooks/agentbus",
    "webhook_events": ["member.changed", "tenant.updated"],
    "flags": {"beta": True, "limits": {"agents": 3}},
}

ADMIN_OPERATIONS: dict[str, dict[str, Any]] = {
    "tenants.update": {"name": "Renamed"},
    "tenants.invites.list": {},
    "tenants.invites.revoke": {"invite_id": "inv_x"},
    "tenants.settings.get": {},
    "tenants.settings.put": SETTINGS,
    "audit.list": {},
    "password.admin_reset": {"user_id": "usr_x"},
}


async def login_again(client: AuthClient, account: Account) -> Account:
    """The account with the tokens of a new login (a session of its own)."""
    reply = await client.login(account.email, account.password)
    return replace(
        account,
        access_token=reply.data["access_token"],
        refresh_token=reply.data["refresh_token"],
    )


# ---------------------------------------------------------------- name and slug
async def test_an_admin_renames_the_tenant_and_sets_its_slug(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register(tenant_name="Acme Rockets!")
    current = await client.call("tenants.current", token=owner.access_token)
    assert current.data["slug"].startswith("acme-rockets-")

    updated = await client.call(
        "tenants.update", {"name": "Acme Space", "slug": "acme-space"}, token=owner.access_token
    )
    assert (updated.data["name"], updated.data["slug"]) == ("Acme Space", "acme-space")
    current = await client.call("tenants.current", token=owner.access_token)
    assert current.data["slug"] == "acme-space"
    (event,) = await events(f"events.auth.{owner.tenant_id}.tenant.updated", 1)
    assert event["data"]["slug"] == "acme-space"
    assert event["data"]["changed_by"] == owner.user_id


async def test_a_slug_is_unique_and_well_formed(client: AuthClient) -> None:
    first = await client.register()
    second = await client.register()
    await client.call("tenants.update", {"slug": "taken-slug"}, token=first.access_token)
    taken = await client.error("tenants.update", {"slug": "taken-slug"}, token=second.access_token)
    assert (taken.status, taken.code) == (409, "slug_taken")
    for bad in ("ab", "Upper-Case", "-edge", "edge-", "under_score", "x" * 41):
        refused = await client.error("tenants.update", {"slug": bad}, token=second.access_token)
        assert (refused.status, refused.code) == (422, "validation_failed"), bad
    same = await client.call("tenants.update", {"slug": "taken-slug"}, token=first.access_token)
    assert same.data["slug"] == "taken-slug"


async def test_members_and_viewers_are_refused_every_admin_operation(client: AuthClient) -> None:
    owner = await client.register_verified()
    for role in ("member", "viewer"):
        caller = await client.join(owner, role)
        for operation, payload in ADMIN_OPERATIONS.items():
            refused = await client.error(operation, payload, token=caller.access_token)
            assert refused.status == 403, (role, operation)


async def test_an_admin_demoted_since_the_token_was_issued_is_refused_everywhere(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    member = await client.join(owner, "member")
    assert "admin" in client.principal(admin.access_token).roles
    await client.call(
        "tenants.members.update",
        {"user_id": admin.user_id, "role": "member"},
        token=owner.access_token,
    )
    real_targets = {"password.admin_reset": {"user_id": member.user_id}}
    for operation, payload in ADMIN_OPERATIONS.items():
        refused = await client.error(
            operation, real_targets.get(operation, payload), token=admin.access_token
        )
        assert (refused.status, refused.code) == (403, "forbidden"), operation
    assert client.mail.messages(member.email, "password_reset_by_admin") == []


async def test_a_member_is_refused_before_the_webhook_or_the_flags_are_looked_at(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    for changes in (
        {"webhook_url": "https://10.0.0.1/hook"},
        {"webhook_url": "https://internal-name.invalid/hook"},
        {"flags": {"blob": "x" * FLAGS_MAX_BYTES}},
    ):
        refused = await client.error(
            "tenants.settings.put", {**SETTINGS, **changes}, token=member.access_token
        )
        assert (refused.status, refused.code) == (403, "forbidden"), changes


# ---------------------------------------------------------------- invites
async def test_pending_invites_are_listed_without_their_secret(client: AuthClient) -> None:
    owner = await client.register_verified()
    first = await client.call(
        "tenants.invites.create", {"email": "one@example.com"}, token=owner.access_token
    )
    await client.call(
        "tenants.invites.create",
        {"email": "two@example.com", "role": "admin"},
        token=owner.access_token,
    )
    token = await client.mail.mailed_invite("one@example.com")
    page = await client.call("tenants.invites.list", {"limit": 1}, token=owner.access_token)
    assert [item["email"] for item in page.data["items"]] == ["two@example.com"]
    assert page.data["items"][0]["invited_by"] == owner.email
    rest = await client.call(
        "tenants.invites.list", {"cursor": page.data["next_cursor"]}, token=owner.access_token
    )
    assert [item["id"] for item in rest.data["items"]] == [first.data["id"]]
    assert rest.data["next_cursor"] is None
    assert token not in repr(page.data) + repr(rest.data)


async def test_a_revoked_invite_can_no_longer_be_accepted(client: AuthClient) -> None:
    owner = await client.register_verified()
    created = await client.call(
        "tenants.invites.create", {"email": "late@example.com"}, token=owner.access_token
    )
    token = await client.mail.mailed_invite("late@example.com")
    revoked = await client.call(
        "tenants.invites.revoke", {"invite_id": created.data["id"]}, token=owner.access_token
    )
    assert revoked.data is None
    refused = await client.error(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )
    assert (refused.status, refused.code) == (400, "invalid_invite")
    listed = await client.call("tenants.invites.list", token=owner.access_token)
    assert listed.data["items"] == []
    again = await client.error(
        "tenants.invites.revoke", {"invite_id": created.data["id"]}, token=owner.access_token
    )
    assert (again.status, again.code) == (404, "invite_not_found")


async def test_an_invite_revoked_while_it_is_accepted_ends_one_way_or_the_other(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    for attempt in range(3):
        email = client.new_email(f"race{attempt}")
        created = await client.call(
            "tenants.invites.create", {"email": email}, token=owner.access_token
        )
        token = await client.mail.mailed_invite(email)
        accepted, revoked = await asyncio.gather(
            client.call("tenants.invites.accept", {"token": token, "password": client.password}),
            client.call(
                "tenants.invites.revoke",
                {"invite_id": created.data["id"]},
                token=owner.access_token,
            ),
            return_exceptions=True,
        )
        members = await client.call("tenants.members.list", token=owner.access_token)
        joined = email in {item["email"] for item in members.data["items"]}
        if isinstance(accepted, BaseException):
            assert isinstance(accepted, AgentbusError) and accepted.code == "invalid_invite"
            assert not isinstance(revoked, BaseException)
            assert not joined
        else:
            assert isinstance(revoked, AgentbusError) and revoked.code == "invite_not_found"
            assert joined
        listed = await client.call("tenants.invites.list", token=owner.access_token)
        assert created.data["id"] not in {item["id"] for item in listed.data["items"]}


async def test_another_tenants_invite_is_not_found(client: AuthClient) -> None:
    owner = await client.register_verified()
    stranger = await client.register_verified()
    created = await client.call(
        "tenants.invites.create", {"email": "kept@example.com"}, token=owner.access_token
    )
    refused = await client.error(
        "tenants.invites.revoke", {"invite_id": created.data["id"]}, token=stranger.access_token
    )
    assert (refused.status, refused.code) == (404, "invite_not_found")
    listed = await client.call("tenants.invites.list", token=stranger.access_token)
    assert listed.data["items"] == []
    still = await client.call("tenants.invites.list", token=owner.access_token)
    assert [item["id"] for item in still.data["items"]] == [created.data["id"]]


# ---------------------------------------------------------------- settings
async def test_an_admin_stores_and_reads_the_settings(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    empty = await client.call("tenants.settings.get", token=admin.access_token)
    assert empty.data["webhook_url"] is None
    assert empty.data["contacts"] == [] and empty.data["flags"] == {}

    saved = await client.call("tenants.settings.put", SETTINGS, token=admin.access_token)
    read = await client.call("tenants.settings.get", token=owner.access_token)
    assert saved.data == read.data
    assert {key: read.data[key] for key in SETTINGS} == SETTINGS
    (event,) = await events(f"events.auth.{owner.tenant_id}.tenant.settings_changed", 1)
    assert event["data"]["webhook_url"] == SETTINGS["webhook_url"]
    assert "flags" not in event["data"] and "contacts" not in event["data"]

    other = await client.register()
    theirs = await client.call("tenants.settings.get", token=other.access_token)
    assert theirs.data["webhook_url"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hook",
        "https://224.0.0.251/hook",
        "https://0.0.0.0/hook",
        "https://240.0.0.1/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://user:secret@93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
        "https:///hook",
        "https://[::1/hook",
        "https://bad_host.example/hook",
        "https://a%00b.example/hook",
        "https://[2002:a00:1::1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",
        "https://93.184.215.14:0/hook",
        "https://93.184.215.14:22/hook",
        "https://93.184.215.14:5432/hook",
        "https://93.184.215.14:4222/hook",
        "https://10.1/hook",
        "https://hooks.example.123/hook",
        "https://0x7f.1/hook",
    ],
)
async def test_a_webhook_into_a_non_public_network_is_refused(client: AuthClient, url: str) -> None:
    owner = await client.register()
    await client.call("tenants.settings.put", SETTINGS, token=owner.access_token)
    refused = await client.error(
        "tenants.settings.put", {**SETTINGS, "webhook_url": url}, token=owner.access_token
    )
    assert (refused.status, refused.code) == (422, "invalid_webhook_url")
    assert refused.details[0]["loc"] == ["webhook_url"]
    kept = await client.call("tenants.settings.get", token=owner.access_token)
    assert kept.data["webhook_url"] == SETTINGS["webhook_url"]


async def test_flags_above_the_cap_and_unknown_event_kinds_are_refused(client: AuthClient) -> None:
    owner = await client.register()
    big = {"blob": "x" * FLAGS_MAX_BYTES}
    refused = await client.error(
        "tenants.settings.put", {**SETTINGS, "flags": big}, token=owner.access_token
    )
    assert (refused.status, refused.code) == (422, "flags_too_large")
    unknown = await client.error(
        "tenants.settings.put",
        {**SETTINGS, "webhook_events": ["everything"]},
        token=owner.access_token,
    )
    assert (unknown.status, unknown.code) == (422, "validation_failed")
    at_cap = {"blob": "x" * (FLAGS_MAX_BYTES - len('{"blob":""}'))}
    await client.call(
        "tenants.settings.put", {**SETTINGS, "flags": at_cap}, token=owner.access_token
    )
    stored = await client.call("tenants.settings.get", token=owner.access_token)
    assert stored.data["flags"] == at_cap


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
async def test_flags_with_a_number_json_cannot_hold_are_refused(
    client: AuthClient, number: float
) -> None:
    owner = await client.register()
    await client.call("tenants.settings.put", SETTINGS, token=owner.access_token)
    for flags in ({"ratio": number}, {"deep": [{"x": [1, number]}]}):
        refused = await client.error(
            "tenants.settings.put", {**SETTINGS, "flags": flags}, token=owner.access_token
        )
        assert (refused.status, refused.code) == (422, "validation_failed")
    kept = await client.call("tenants.settings.get", token=owner.access_token)
    assert kept.data["flags"] == SETTINGS["flags"]


# ---------------------------------------------------------------- admin password reset
async def test_an_admin_reset_mails_a_code_and_ends_every_session(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    second = await login_again(client, member)
    await client.call("password.admin_reset", {"user_id": member.user_id}, token=owner.access_token)

    for session in (member, second):
        refused = await client.error("refresh", {"refresh_token": session.refresh_token})
        assert refused.status == 401
    revoked = await events(f"events.auth.{owner.tenant_id}.session.revoked", 2)
    assert {e["data"]["reason"] for e in revoked} == {"password_reset_by_admin"}
    assert {e["data"]["user_id"] for e in revoked} == {member.user_id}

    mail = await client.mail.wait(member.email, "password_reset_by_admin")
    body = mail.get_payload(decode=True).decode()
    assert 'Team name: "Acme"' in body and "signed you out of that team" in body
    assert "hopefully you" not in body
    code = await client.mail.mailed_code(member.email, "password_reset_by_admin")
    await client.call(
        "password.reset",
        {"email": member.email, "code": code, "new_password": client.other_password},
    )
    relogged = await client.login(member.email, client.other_password)
    assert relogged.data["access_token"]


async def test_an_admin_reset_stays_within_the_tenant_and_below_owners(client: AuthClient) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    stranger = await client.register()
    outside = await client.error(
        "password.admin_reset", {"user_id": stranger.user_id}, token=owner.access_token
    )
    assert (outside.status, outside.code) == (404, "member_not_found")
    on_owner = await client.error(
        "password.admin_reset", {"user_id": owner.user_id}, token=admin.access_token
    )
    assert (on_owner.status, on_owner.code) == (403, "owner_only")
    assert client.mail.messages(owner.email, "password_reset_by_admin") == []
    assert client.mail.messages(stranger.email, "password_reset_by_admin") == []
    await client.call("password.admin_reset", {"user_id": admin.user_id}, token=owner.access_token)
    await client.mail.wait(admin.email, "password_reset_by_admin")


async def test_a_disabled_account_gets_no_reset(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.call(
        "users.disable", {"current_password": member.password}, token=member.access_token
    )
    refused = await client.error(
        "password.admin_reset", {"user_id": member.user_id}, token=owner.access_token
    )
    assert (refused.status, refused.code) == (403, "account_disabled")
    assert client.mail.messages(member.email, "password_reset_by_admin") == []


async def member_of_two_tenants(client: AuthClient) -> tuple[Account, Account, Account]:
    """An owner of tenant A, and a user who is a member of A and of a tenant B of their own,
    with a session in A (first) and one in B (second)."""
    owner = await client.register_verified()
    user = await client.register_verified()
    await client.call("tenants.invites.create", {"email": user.email}, token=owner.access_token)
    token = await client.mail.mailed_invite(user.email)
    joined = await client.call(
        "tenants.invites.accept", {"token": token, "password": user.password}
    )
    in_a = Account.from_result(user.email, user.password, joined.data)
    return owner, in_a, user


async def test_an_admin_reset_ends_the_sessions_in_the_admins_tenant_only(
    client: AuthClient,
) -> None:
    owner, in_a, in_b = await member_of_two_tenants(client)
    assert in_a.tenant_id == owner.tenant_id != in_b.tenant_id
    await client.call("password.admin_reset", {"user_id": in_a.user_id}, token=owner.access_token)
    refused = await client.error("refresh", {"refresh_token": in_a.refresh_token})
    assert refused.status == 401
    kept = await client.call("refresh", {"refresh_token": in_b.refresh_token})
    assert kept.data["access_token"]

    code = await client.mail.mailed_code(in_b.email, "password_reset_by_admin")
    await client.call(
        "password.reset", {"email": in_b.email, "code": code, "new_password": client.other_password}
    )
    ended = await client.error("refresh", {"refresh_token": kept.data["refresh_token"]})
    assert ended.status == 401


async def test_an_operator_reset_ends_every_session(client: AuthClient) -> None:
    _, in_a, in_b = await member_of_two_tenants(client)
    operator = await client.register_verified()
    assert await client.parts.operators.grant(operator.email, actor="test")
    operator = await login_again(client, operator)
    await client.call(
        "password.admin_reset", {"user_id": in_a.user_id}, token=operator.access_token
    )
    for session in (in_a, in_b):
        refused = await client.error("refresh", {"refresh_token": session.refresh_token})
        assert refused.status == 401


async def test_an_operator_resets_anyones_password(client: AuthClient) -> None:
    operator = await client.register_verified()
    assert await client.parts.operators.grant(operator.email, actor="test")
    operator = await login_again(client, operator)
    assert "platform:operate" in client.claims(operator.access_token).scope.split()
    stranger = await client.register()
    await client.call(
        "password.admin_reset", {"user_id": stranger.user_id}, token=operator.access_token
    )
    mail = await client.mail.wait(stranger.email, "password_reset_by_support")
    assert "signed you out\neverywhere" in mail.get_payload(decode=True).decode()
    refused = await client.error("refresh", {"refresh_token": stranger.refresh_token})
    assert refused.status == 401
    unknown = await client.error(
        "password.admin_reset", {"user_id": "usr_nobody"}, token=operator.access_token
    )
    assert unknown.status == 404
