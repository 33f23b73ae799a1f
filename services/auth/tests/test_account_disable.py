"""Disabling one's own account: the password and second factor it needs, the owner it must leave
behind, and the sessions, codes and service accounts it ends, over the bus with the real servers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from auth_support import Account, AuthClient, ReadEvents, client_credentials
from profile_support import new_session
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from test_mfa import enroll

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import users
from agentbus_auth.passwords.hasher import Verification
from agentbus_shared.errors import AgentbusError


# ---------------------------------------------------------------- disabling
async def test_disabling_the_account_ends_every_session(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    second = Account.from_result(
        member.email, member.password, {**_ids(member), "tokens": await new_session(client, member)}
    )

    await client.call(
        "users.disable", {"current_password": client.password}, token=member.access_token
    )

    revoked = await events("events.auth.*.session.revoked", 2)
    assert {e["data"]["reason"] for e in revoked} == {"account_disabled"}
    assert {e["data"]["user_id"] for e in revoked} == {member.user_id}
    dead = await client.error("refresh", {"refresh_token": second.refresh_token})
    assert dead.code == "invalid_refresh_token"
    login = await client.error("login", {"email": member.email, "password": client.password})
    assert login.code == "account_disabled"
    audited = await client.parts.audit.entries(kind=AuditKind.ACCOUNT_DISABLED)
    assert [e.user_id for e in audited] == [member.user_id]


async def test_the_last_owner_cannot_disable_their_account(client: AuthClient) -> None:
    owner = await client.register_verified()
    await client.join(owner, "admin")

    refused = await client.error(
        "users.disable", {"current_password": client.password}, token=owner.access_token
    )

    assert (refused.status, refused.code) == (409, "last_owner")
    assert refused.details == {"tenants": [owner.tenant_id]}
    assert (await client.call("refresh", {"refresh_token": owner.refresh_token})).data
    co_owner = await client.join(owner, "owner")
    await client.call(
        "users.disable", {"current_password": client.password}, token=co_owner.access_token
    )
    again = await client.error(
        "users.disable", {"current_password": client.password}, token=owner.access_token
    )
    assert again.code == "last_owner"  # the other owner is disabled: no one else can manage


async def test_an_owner_whose_co_owner_is_disabled_cannot_step_down_or_leave(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    co_owner = await client.join(owner, "owner")
    await client.call(
        "users.disable", {"current_password": client.password}, token=co_owner.access_token
    )

    demote = await client.error(
        "tenants.members.update",
        {"user_id": owner.user_id, "role": "admin"},
        token=owner.access_token,
    )
    leave = await client.error(
        "tenants.members.remove", {"user_id": owner.user_id}, token=owner.access_token
    )

    assert (demote.status, demote.code) == (409, "last_owner")
    assert (leave.status, leave.code) == (409, "last_owner")
    # The disabled co-owner may still be removed: the active owner stays.
    await client.call(
        "tenants.members.remove", {"user_id": co_owner.user_id}, token=owner.access_token
    )
    members = (await client.call("tenants.members.list", token=owner.access_token)).data["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(owner.user_id, "owner")]


async def test_disabling_revokes_the_service_accounts_the_user_created(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    created = await client.create_service_account(admin, ["conversations:read"], "ci-bot")
    owners_own = await client.create_service_account(owner, ["conversations:read"], "backup")

    await client.call(
        "users.disable", {"current_password": client.password}, token=admin.access_token
    )

    refused = await client.error("oauth.token", client_credentials(created))
    assert refused.code == "invalid_client"
    assert (await client.call("oauth.token", client_credentials(owners_own))).data
    audited = await client.parts.audit.entries(kind=AuditKind.SERVICE_ACCOUNT_REVOKED)
    assert [(e.actor_id, e.details["reason"]) for e in audited] == [
        (admin.user_id, "creator_disabled")
    ]


async def test_a_code_mailed_before_disabling_no_longer_works(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.call("password.forgot", {"email": member.email})
    code = await client.mail.mailed_code(member.email, "password_reset")
    await client.call(
        "users.disable", {"current_password": client.password}, token=member.access_token
    )
    await client.parts.account_changes.enable_by_operator(member.email, actor="cli")

    stale = await client.error(
        "password.reset",
        {"email": member.email, "code": code, "new_password": client.other_password},
    )

    assert stale.code == "invalid_code"
    assert (await client.login(member.email, client.password)).data["access_token"]


async def test_an_invite_tells_a_disabled_account_so_only_after_its_password(
    client: AuthClient,
) -> None:
    owner, disabled = await client.register_verified(), await client.register_verified()
    await _disable_directly(client, disabled.user_id)
    token = await client.invite(owner, disabled.email)

    wrong = await client.error(
        "tenants.invites.accept", {"token": token, "password": client.other_password}
    )
    right = await client.error(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )

    assert wrong.code == "invalid_credentials"
    assert right.code == "account_disabled"


async def _disable_directly(client: AuthClient, user_id: str) -> None:
    """The account turns disabled as if another request did it at this very moment."""
    async with client.parts.db.transaction() as session:
        await session.execute(update(users).where(users.c.id == user_id).values(status="disabled"))


async def test_an_account_disabled_while_its_password_is_checked_gets_no_session(
    client: AuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    login = client.parts.login
    check_password = login._hasher.verify

    async def disabled_meanwhile(stored_hash: str | None, password: str) -> Verification:
        verification = await check_password(stored_hash, password)
        await _disable_directly(client, member.user_id)
        return verification

    monkeypatch.setattr(login._hasher, "verify", disabled_meanwhile)

    refused = await client.error("login", {"email": member.email, "password": client.password})

    assert (refused.status, refused.code) == (403, "account_disabled")


async def test_an_account_disabled_while_its_second_factor_is_checked_gets_no_session(
    client: AuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    _, recovery_codes = await enroll(client, member)
    token = (await client.login(member.email, client.password)).data["challenge_token"]
    mfa = client.parts.mfa
    check_code = mfa.check_second_factor

    async def disabled_meanwhile(session: AsyncSession, user_id: str, code: str) -> str | None:
        used = await check_code(session, user_id, code)
        await _disable_directly(client, user_id)
        return used

    monkeypatch.setattr(mfa, "check_second_factor", disabled_meanwhile)

    refused = await client.error(
        "mfa.complete", {"challenge_token": token, "code": recovery_codes[0]}
    )

    assert (refused.status, refused.code) == (403, "account_disabled")


async def test_disabling_needs_the_current_password(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    wrong = await client.error(
        "users.disable", {"current_password": client.other_password}, token=member.access_token
    )
    assert (wrong.status, wrong.code) == (403, "invalid_current_password")
    assert (await client.login(member.email, client.password)).data["access_token"]


async def test_of_two_owners_disabling_at_once_one_stays(client: AuthClient) -> None:
    owner = await client.register_verified()
    co_owner = await client.join(owner, "owner")

    outcomes = await asyncio.gather(
        *(
            client.call(
                "users.disable", {"current_password": client.password}, token=a.access_token
            )
            for a in (owner, co_owner)
        ),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert [(e.status, e.code) for e in refused if isinstance(e, AgentbusError)] == [
        (409, "last_owner")
    ]
    assert len(refused) == 1  # the other one was disabled


async def test_disabling_with_totp_on_needs_a_code_of_the_second_factor(
    client: AuthClient,
) -> None:
    account = await client.join(await client.register_verified(), "member")
    _, recovery_codes = await enroll(client, account)
    password = {"current_password": client.password}

    missing = await client.error("users.disable", password, token=account.access_token)
    wrong = await client.error(
        "users.disable", {**password, "code": "000000"}, token=account.access_token
    )

    assert (missing.status, missing.code) == (401, "mfa_code_required")
    assert (wrong.status, wrong.code) == (401, "invalid_mfa_code")
    assert (await client.call("refresh", {"refresh_token": account.refresh_token})).data
    await client.call(
        "users.disable", {**password, "code": recovery_codes[0]}, token=account.access_token
    )
    login = await client.error("login", {"email": account.email, "password": client.password})
    assert login.code == "account_disabled"


def _ids(account: Account) -> dict[str, Any]:
    return {"user": {"id": account.user_id}, "tenant": {"id": account.tenant_id}}
