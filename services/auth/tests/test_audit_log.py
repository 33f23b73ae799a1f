"""The tenant's audit log as its admins read it: their tenant's security events, newest first,
with who acted on whom and from where — and never another tenant's."""

from __future__ import annotations

from typing import Any

from auth_support import Account, AuthClient


async def audit(client: AuthClient, admin: Account, **query: Any) -> list[dict[str, Any]]:
    """Every entry the admin's audit log lists for ``query``, page by page."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.call(
            "audit.list", {**query, "limit": 5, "cursor": cursor}, token=admin.access_token
        )
        entries += page.data["items"]
        cursor = page.data["next_cursor"]
        if cursor is None:
            return entries


async def fail_login(client: AuthClient, account: Account, password: str) -> None:
    refused = await client.error("login", {"email": account.email, "password": password})
    assert refused.status == 401


def kinds(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["kind"] for entry in entries]


async def test_an_admin_sees_the_tenants_security_events_newest_first(client: AuthClient) -> None:
    owner = await client.register_verified()
    await client.login(owner.email, owner.password)
    member = await client.join(owner, "member")
    await fail_login(client, member, "not-the-password-at-all")
    await client.call(
        "tenants.members.update",
        {"user_id": member.user_id, "role": "viewer"},
        token=owner.access_token,
    )
    await client.call(
        "tenants.settings.put",
        {"webhook_url": "https://93.184.215.14/hook", "webhook_events": ["member.changed"]},
        token=owner.access_token,
    )
    await client.call("password.admin_reset", {"user_id": member.user_id}, token=owner.access_token)

    entries = await audit(client, owner)
    seen = kinds(entries)
    for kind in (
        "user.registered",
        "login.succeeded",
        "invite.created",
        "invite.accepted",
        "login.failed",
        "member.changed",
        "tenant.settings_changed",
        "support.password_reset",
    ):
        assert kind in seen, kind
    times = [entry["occurred_at"] for entry in entries]
    assert times == sorted(times, reverse=True)
    assert len({entry["id"] for entry in entries}) == len(entries)

    reset = entries[seen.index("support.password_reset")]
    assert (reset["actor_email"], reset["user_email"]) == (owner.email, member.email)
    assert (reset["ip"], reset["user_agent"]) == (client.ip, "pytest")
    failed = entries[seen.index("login.failed")]
    assert failed["user_id"] == member.user_id
    role = entries[seen.index("member.changed")]
    assert role["details"]["new_role"] == "viewer"


async def test_the_log_filters_by_kind_and_user(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.login(member.email, member.password)
    logins = await audit(client, owner, kind="login.succeeded")
    assert set(kinds(logins)) == {"login.succeeded"}
    of_member = await audit(client, owner, user_id=member.user_id)
    assert {entry["user_id"] for entry in of_member} == {member.user_id}
    assert await audit(client, owner, kind="login.succeeded", user_id="usr_nobody") == []


async def test_another_tenants_entries_never_appear(client: AuthClient) -> None:
    owner = await client.register_verified()
    stranger = await client.register_verified()
    await client.login(stranger.email, stranger.password)
    await fail_login(client, stranger, "not-the-password-at-all")
    await client.call(
        "tenants.invites.create", {"email": "theirs@example.com"}, token=stranger.access_token
    )
    theirs = {entry["id"] for entry in await audit(client, stranger)}
    mine = await audit(client, owner)
    assert mine
    assert theirs.isdisjoint(entry["id"] for entry in mine)
    assert {entry["user_id"] for entry in mine} <= {owner.user_id, None}
    assert await audit(client, owner, user_id=stranger.user_id) == []


async def test_a_member_who_left_takes_their_tenantless_entries_along(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await fail_login(client, member, "not-the-password-at-all")
    assert "login.failed" in kinds(await audit(client, owner, user_id=member.user_id))
    await client.call(
        "tenants.members.remove", {"user_id": member.user_id}, token=owner.access_token
    )
    await fail_login(client, member, "still-not-the-password")
    after = await audit(client, owner, kind="login.failed")
    assert after == []


async def test_only_owners_and_admins_read_the_log(client: AuthClient) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    assert await audit(client, admin)
    member = await client.join(owner, "member")
    refused = await client.error("audit.list", token=member.access_token)
    assert refused.status == 403
    bad_cursor = await client.error("audit.list", {"cursor": "nonsense"}, token=owner.access_token)
    assert bad_cursor.status == 400


async def test_a_member_of_two_tenants_brings_nothing_from_before_or_from_outsiders(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    their_owner = await client.register_verified()
    user = await client.join(their_owner, "member")
    await fail_login(client, user, "before-joining-the-tenant")
    assert await client.parts.operators.grant(user.email, actor="ops@platform")
    await client.call("tenants.invites.create", {"email": user.email}, token=owner.access_token)
    token = await client.mail.mailed_invite(user.email, count=2)
    await client.call("tenants.invites.accept", {"token": token, "password": user.password})

    await client.call(
        "password.admin_reset",
        {"user_id": user.user_id},
        token=their_owner.access_token,
        ip="198.51.100.77",
    )
    operator = await client.register_verified()
    assert await client.parts.operators.grant(operator.email, actor="ops@platform")
    operator_login = await client.login(operator.email, operator.password)
    await client.call(
        "password.admin_reset",
        {"user_id": user.user_id},
        token=operator_login.data["access_token"],
        ip="203.0.113.9",
    )
    await fail_login(client, user, "after-joining-the-tenant")

    entries = await audit(client, owner, user_id=user.user_id)
    seen = kinds(entries)
    assert "operator.granted" not in seen
    assert seen.count("login.failed") == 1
    assert seen.count("support.password_reset") == 1
    text = repr(entries)
    for outsider in (their_owner.email, operator.email, "198.51.100.77", "203.0.113.9"):
        assert outsider not in text, outsider
    (reset,) = [entry for entry in entries if entry["kind"] == "support.password_reset"]
    assert reset["actor_id"] == operator.user_id
    assert (reset["actor_email"], reset["ip"], reset["user_agent"]) == (None, None, None)
    (failed,) = [entry for entry in entries if entry["kind"] == "login.failed"]
    assert (failed["ip"], failed["user_agent"]) == (client.ip, "pytest")


async def test_a_members_own_account_security_events_show_without_a_tenant_on_them(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.call(
        "password.change",
        {"current_password": member.password, "new_password": client.other_password},
        token=member.access_token,
    )
    await client.call(
        "users.disable", {"current_password": client.other_password}, token=member.access_token
    )
    seen = kinds(await audit(client, owner, user_id=member.user_id))
    assert {"password.changed", "account.disabled"} <= set(seen)
