"""The self-service profile: profile fields, email change, disabling, consents and notification
preferences, each refusal included, over the bus with the real servers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth_support import (
    Account,
    AuthClient,
    ClientFor,
    ReadEvents,
    StartAuth,
    client_credentials,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from test_mfa import enroll

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import one_time_codes, users
from agentbus_auth.passwords.hasher import Verification
from agentbus_auth.profile.service import ProfileService, RequiredConsents
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.users import ConsentsAccept
from agentbus_shared.errors import AgentbusError

ALL_ON: dict[str, dict[str, bool]] = {
    kind: {"email": True, "in_app": True}
    for kind in ("security", "billing", "product", "incidents")
}


async def profile(client: AuthClient, account: Account) -> dict[str, Any]:
    return dict((await client.call("users.me", token=account.access_token)).data)


async def change_email(client: AuthClient, account: Account, new_email: str) -> str:
    """Ask for ``new_email`` with the password; the code mailed to it."""
    reply = await client.call(
        "users.email.change",
        {"new_email": new_email, "current_password": client.password},
        token=account.access_token,
    )
    assert reply.status == 202
    return await client.mail.mailed_code(new_email, "email_change")


# ---------------------------------------------------------------- profile
async def test_the_profile_changes_only_the_fields_sent(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register(display_name="Ada")
    before = await profile(client, account)
    assert (before["email"], before["display_name"], before["timezone"]) == (
        account.email,
        "Ada",
        None,
    )

    first = {"given_name": "Ada", "family_name": "Lovelace", "timezone": "Europe/London"}
    await client.call("users.me.update", first, token=account.access_token)
    after = await client.call(
        "users.me.update",
        {"locale": "en-GB", "avatar_url": "https://cdn.example.com/ada.png", "timezone": None},
        token=account.access_token,
    )

    assert {k: after.data[k] for k in (*first, "display_name", "locale", "avatar_url")} == {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "timezone": None,
        "display_name": "Ada",
        "locale": "en-GB",
        "avatar_url": "https://cdn.example.com/ada.png",
    }
    assert await profile(client, account) == after.data
    changed = await events("events.auth.*.user.profile_changed", 2)
    assert [e["data"]["fields"] for e in changed] == [
        ["family_name", "given_name", "timezone"],
        ["avatar_url", "locale", "timezone"],
    ]


async def test_bad_profile_values_are_refused_and_nothing_is_stored(client: AuthClient) -> None:
    account = await client.register()
    for bad in (
        {"timezone": "Mars/Olympus_Mons"},
        {"locale": "english please"},
        {"avatar_url": "http://cdn.example.com/a.png"},
        {"avatar_url": "https://user:secret@cdn.example.com/a.png"},
        {"avatar_url": "https://cdn.example.com/" + "a" * 2100},
        {"given_name": "x" * 101},
        {"avatar_url": "https://cdn.example.com/a b.png"},
        {"avatar_url": "https://cdn.example.com/a\tb.png"},
        {"avatar_url": "https://cdn.example.com/\u202egnp.exe"},
        {"timezone": "localtime"},
        {"timezone": "Factory"},
        {"timezone": "EST5EDT"},
        {"timezone": "Etc/GMT+5"},
        {"display_name": "   "},
        {"given_name": "Ada\r\nBcc: x"},
        {"family_name": "\u202eecalevol"},
        {"display_name": "Agentbus\u2066Security"},
    ):
        error = await client.error("users.me.update", bad, token=account.access_token)
        assert (error.status, error.code) == (422, "validation_failed"), bad
    stored = await profile(client, account)
    assert (stored["timezone"], stored["locale"], stored["avatar_url"]) == (None, None, None)
    assert stored["given_name"] is None


async def test_profile_values_are_stored_normalised(client: AuthClient) -> None:
    account = await client.register()
    changed = await client.call(
        "users.me.update",
        {
            "avatar_url": "https://CDN.Example.com/ada.png",
            "timezone": "UTC",
            "given_name": "Zoë",
            "family_name": "\u0645\u06cc\u200c\u0631",  # a zero-width non-joiner, as Persian needs
        },
        token=account.access_token,
    )
    assert changed.data["avatar_url"] == "https://cdn.example.com/ada.png"
    assert (changed.data["timezone"], changed.data["given_name"]) == ("UTC", "Zoë")


async def test_a_profile_is_the_callers_own(client: AuthClient) -> None:
    ada, bob = await client.register(), await client.register()
    await client.call("users.me.update", {"given_name": "Ada"}, token=ada.access_token)
    seen_by_bob = await profile(client, bob)
    assert (seen_by_bob["id"], seen_by_bob["given_name"]) == (bob.user_id, None)
    # A user id in the body is not a field of the update: it cannot aim at someone else.
    error = await client.error(
        "users.me.update", {"user_id": ada.user_id, "given_name": "B"}, token=bob.access_token
    )
    assert error.status == 422
    assert (await profile(client, ada))["given_name"] == "Ada"


# ---------------------------------------------------------------- email change
async def test_an_email_change_is_confirmed_by_the_code_sent_to_the_new_address(
    client: AuthClient,
) -> None:
    account = await client.register()
    new_email = client.new_email("moved")
    code = await change_email(client, account, new_email)
    assert (await profile(client, account))["email"] == account.email  # not before the code

    await client.call("users.email.confirm", {"code": code}, token=account.access_token)

    changed = await profile(client, account)
    assert (changed["email"], changed["email_verified"]) == (new_email, True)
    alert = await client.mail.wait(account.email, "security_alert")
    assert "email address was changed" in str(alert.get_payload(decode=True))
    assert (await client.login(new_email, client.password)).data["access_token"]
    old = await client.error("login", {"email": account.email, "password": client.password})
    assert old.code == "invalid_credentials"
    for kind in (AuditKind.EMAIL_CHANGE_REQUESTED, AuditKind.EMAIL_CHANGED):
        audited = await client.parts.audit.entries(kind=kind)
        assert account.user_id in {e.user_id for e in audited}


async def test_a_confirmed_email_change_ends_the_other_sessions_but_this_one(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register()
    elsewhere = await _login(client, account)
    code = await change_email(client, account, client.new_email("moved"))

    await client.call("users.email.confirm", {"code": code}, token=account.access_token)

    revoked = await events("events.auth.*.session.revoked", 1)
    assert [e["data"]["reason"] for e in revoked] == ["email_changed"]
    dead = await client.error("refresh", {"refresh_token": elsewhere["refresh_token"]})
    assert dead.code == "invalid_refresh_token"
    assert (await client.call("refresh", {"refresh_token": account.refresh_token})).data


async def test_an_expired_email_change_code_is_refused(client: AuthClient) -> None:
    account = await client.register()
    code = await change_email(client, account, client.new_email("moved"))
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(one_time_codes)
            .where(one_time_codes.c.user_id == account.user_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    expired = await client.error("users.email.confirm", {"code": code}, token=account.access_token)

    assert (expired.status, expired.code) == (400, "invalid_code")
    assert (await profile(client, account))["email"] == account.email


async def test_an_email_change_code_takes_a_limited_number_of_attempts(
    client: AuthClient,
) -> None:
    account = await client.register()
    code = await change_email(client, account, client.new_email("moved"))
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
    for _ in range(client.parts.settings.tuning.code_attempts):
        guess = await client.error(
            "users.email.confirm", {"code": wrong}, token=account.access_token
        )
        assert guess.code == "invalid_code"

    spent = await client.error("users.email.confirm", {"code": code}, token=account.access_token)

    assert spent.code == "invalid_code"  # the right code, after every attempt was used
    assert (await profile(client, account))["email"] == account.email


async def test_the_code_for_a_new_address_does_not_carry_the_accounts_chosen_name(
    client: AuthClient,
) -> None:
    account = await client.register(display_name="Agentbus Security: verify at evil.example")
    new_email = client.new_email("moved")
    await change_email(client, account, new_email)

    mail = await client.mail.wait(new_email, "email_change")

    body = mail.get_payload(decode=True).decode()
    assert body.startswith("Hello,\n")
    assert "evil.example" not in body + mail["Subject"]


async def test_a_used_wrong_or_foreign_email_change_code_is_refused(client: AuthClient) -> None:
    account, other = await client.register(), await client.register()
    new_email = client.new_email("moved")
    code = await change_email(client, account, new_email)
    wrong = await client.error(
        "users.email.confirm", {"code": "00000000"}, token=account.access_token
    )
    assert (wrong.status, wrong.code) == (400, "invalid_code")
    foreign = await client.error("users.email.confirm", {"code": code}, token=other.access_token)
    assert (foreign.status, foreign.code) == (400, "invalid_code")
    await client.call("users.email.confirm", {"code": code}, token=account.access_token)

    consumed = await client.error("users.email.confirm", {"code": code}, token=account.access_token)

    assert (consumed.status, consumed.code) == (400, "invalid_code")
    assert (await profile(client, other))["email"] == other.email


async def test_an_email_change_needs_the_password_and_a_free_address(client: AuthClient) -> None:
    account, other = await client.register(), await client.register()
    wrong = await client.error(
        "users.email.change",
        {"new_email": client.new_email(), "current_password": client.other_password},
        token=account.access_token,
    )
    assert (wrong.status, wrong.code) == (403, "invalid_current_password")
    taken = await client.error(
        "users.email.change",
        {"new_email": other.email.upper(), "current_password": client.password},
        token=account.access_token,
    )
    assert (taken.status, taken.code) == (409, "email_taken")
    same = await client.error(
        "users.email.change",
        {"new_email": account.email, "current_password": client.password},
        token=account.access_token,
    )
    assert (same.status, same.code) == (422, "email_unchanged")


async def test_an_address_taken_before_the_confirmation_is_refused_then(
    client: AuthClient,
) -> None:
    account = await client.register()
    new_email = client.new_email("contested")
    code = await change_email(client, account, new_email)
    await client.register(new_email)  # someone else registers it meanwhile

    error = await client.error("users.email.confirm", {"code": code}, token=account.access_token)

    assert (error.status, error.code) == (409, "email_taken")
    assert (await profile(client, account))["email"] == account.email


async def test_only_the_newest_email_change_code_works(client: AuthClient) -> None:
    account = await client.register()
    first_email, second_email = client.new_email("first"), client.new_email("second")
    first = await change_email(client, account, first_email)
    second = await change_email(client, account, second_email)
    stale = await client.error("users.email.confirm", {"code": first}, token=account.access_token)
    assert stale.code == "invalid_code"
    await client.call("users.email.confirm", {"code": second}, token=account.access_token)
    assert (await profile(client, account))["email"] == second_email


# ---------------------------------------------------------------- disabling
async def test_disabling_the_account_ends_every_session(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    second = Account.from_result(
        member.email, member.password, {**_ids(member), "tokens": await _login(client, member)}
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


# ---------------------------------------------------------------- consents
async def test_consents_given_at_registration_are_recorded_with_their_time(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    email = client.new_email()
    registered = await client.call(
        "register",
        {
            "email": email,
            "password": client.password,
            "tenant_name": "Acme",
            "terms_version": settings.terms_version,
            "privacy_version": settings.privacy_version,
        },
    )
    account = Account.from_result(email, client.password, registered.data)

    consents = (await client.call("users.consents", token=account.access_token)).data

    assert consents["due"] is False
    assert [(c["document"], c["accepted_version"], c["due"]) for c in consents["items"]] == [
        ("terms", settings.terms_version, False),
        ("privacy", settings.privacy_version, False),
    ]
    assert all(c["accepted_at"] for c in consents["items"])
    assert [c["document_url"] for c in consents["items"]] == [None, None]  # none published
    me = (await client.call("me", token=account.access_token)).data
    assert me["consents_due"] is False


async def test_an_account_without_the_current_versions_is_asked_until_it_accepts(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    account = await client.register()  # an API client registering without consents still can
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is True
    assert (await profile(client, account))["consents_due"] is True

    outdated = await client.error(
        "users.consents.accept", {"terms_version": "1999-01-01"}, token=account.access_token
    )
    assert (outdated.status, outdated.code) == (422, "consent_version_outdated")
    nothing = await client.error("users.consents.accept", {}, token=account.access_token)
    assert nothing.status == 422
    half = await client.call(
        "users.consents.accept",
        {"terms_version": settings.terms_version},
        token=account.access_token,
    )
    assert half.data["due"] is True
    done = await client.call(
        "users.consents.accept",
        {"privacy_version": settings.privacy_version},
        token=account.access_token,
    )

    assert done.data["due"] is False
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is False
    audited = await client.parts.audit.entries(kind=AuditKind.CONSENTS_ACCEPTED)
    assert len([e for e in audited if e.user_id == account.user_id]) == 2


async def test_an_account_made_by_accepting_an_invite_records_its_consents(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    owner = await client.register_verified()
    email = client.new_email("invited")
    token = await client.invite(owner, email)
    accepted = await client.call(
        "tenants.invites.accept",
        {
            "token": token,
            "password": client.password,
            "terms_version": settings.terms_version,
            "privacy_version": settings.privacy_version,
        },
    )
    account = Account.from_result(email, client.password, accepted.data)
    assert (await client.call("me", token=account.access_token)).data["consents_due"] is False


async def test_the_documents_addresses_are_given_where_they_are_accepted(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    terms, privacy = "https://example.com/terms", "https://example.com/privacy"
    client = client_for(await start_auth(terms_url=terms, privacy_url=privacy))
    account = await client.register()

    policy = (await client.call("signup.policy")).data
    consents = (await client.call("users.consents", token=account.access_token)).data

    assert (policy["terms_url"], policy["privacy_url"]) == (terms, privacy)
    assert [c["document_url"] for c in consents["items"]] == [terms, privacy]


async def test_only_the_current_versions_are_recorded_at_registration_or_invite(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    email = client.new_email()
    register = {"email": email, "password": client.password, "tenant_name": "Acme"}
    for versions in ({"terms_version": "any text"}, {"privacy_version": "1999-01-01"}):
        refused = await client.error("register", {**register, **versions})
        assert (refused.status, refused.code) == (422, "consent_version_outdated"), versions
        assert refused.details[0]["loc"] == [next(iter(versions))]
    nothing = await client.error("login", {"email": email, "password": client.password})
    assert nothing.code == "invalid_credentials"  # no account was made
    owner = await client.register_verified()
    token = await client.invite(owner, client.new_email("invited"))
    invited = {"token": token, "password": client.password}
    stale = await client.error(
        "tenants.invites.accept", {**invited, "terms_version": "0.9", "privacy_version": "x"}
    )
    assert (stale.status, stale.code) == (422, "consent_version_outdated")

    accepted = await client.call(
        "tenants.invites.accept", {**invited, "terms_version": settings.terms_version}
    )

    assert accepted.data["tokens"]  # the invite was not used up by the refusal
    account = Account.from_result(accepted.data["user"]["email"], client.password, accepted.data)
    consents = (await client.call("users.consents", token=account.access_token)).data
    assert [(c["accepted_version"], c["due"]) for c in consents["items"]] == [
        (settings.terms_version, False),
        (None, True),
    ]


async def test_a_rollback_to_a_version_accepted_before_asks_for_nothing(
    client: AuthClient,
) -> None:
    settings = client.parts.settings
    account = await client.register()
    older = RequiredConsents(terms=settings.terms_version, privacy=settings.privacy_version)
    newer = RequiredConsents(terms="2099-01-01", privacy=settings.privacy_version)
    meta = RequestMeta(client_ip="127.0.0.1")
    for required in (older, newer):  # accepted the older version, then the newer one
        await ProfileService(client.parts.db, required=required).accept(
            account.user_id,
            ConsentsAccept(terms_version=required.terms, privacy_version=required.privacy),
            meta,
        )

    rolled_back = ProfileService(client.parts.db, required=older)
    consents = await rolled_back.consents(account.user_id)

    assert consents.due is False
    assert await rolled_back.consents_due(account.user_id) is False
    assert consents.items[0].accepted_version == settings.terms_version
    newest = await ProfileService(client.parts.db, required=newer).consents(account.user_id)
    assert newest.due is False


# ---------------------------------------------------------------- notification preferences
async def test_notification_preferences_are_stored_per_kind_and_channel(
    client: AuthClient, events: ReadEvents
) -> None:
    account, other = await client.register(), await client.register()
    defaults = (
        await client.call("users.notification_preferences", token=account.access_token)
    ).data
    assert defaults["security"] == {"email": True, "in_app": True}
    assert defaults["product"] == {"email": False, "in_app": True}
    chosen = {**ALL_ON, "billing": {"email": False, "in_app": True}}

    saved = await client.call(
        "users.notification_preferences.update", chosen, token=account.access_token
    )

    assert saved.data == chosen
    read = await client.call("users.notification_preferences", token=account.access_token)
    assert read.data == chosen
    others = await client.call("users.notification_preferences", token=other.access_token)
    assert others.data == defaults
    changed = await events("events.auth.*.user.notification_preferences_changed", 1)
    assert changed[0]["data"]["user_id"] == account.user_id
    assert changed[0]["data"]["preferences"]["billing"]["email"] is False


async def test_security_mail_cannot_be_turned_off(client: AuthClient) -> None:
    account = await client.register()
    off = {**ALL_ON, "security": {"email": False, "in_app": True}}

    error = await client.error(
        "users.notification_preferences.update", off, token=account.access_token
    )

    assert (error.status, error.code) == (422, "security_email_required")
    assert error.details[0]["loc"] == ["security", "email"]
    stored = await client.call("users.notification_preferences", token=account.access_token)
    assert stored.data["security"]["email"] is True
    partial = await client.error(
        "users.notification_preferences.update",
        {"security": {"email": True, "in_app": True}},
        token=account.access_token,
    )
    assert partial.status == 422


async def test_notification_preferences_are_replaced_whole(client: AuthClient) -> None:
    account = await client.register()
    chosen = {**ALL_ON, "billing": {"email": False, "in_app": False}}
    await client.call("users.notification_preferences.update", chosen, token=account.access_token)

    for partial in (
        {"security": {"email": True, "in_app": True}, "billing": {"email": True, "in_app": True}},
        {**ALL_ON, "billing": {"email": True}},
        {**ALL_ON, "newsletter": {"email": True, "in_app": True}},
    ):
        refused = await client.error(
            "users.notification_preferences.update", partial, token=account.access_token
        )
        assert (refused.status, refused.code) == (422, "validation_failed"), partial

    stored = await client.call("users.notification_preferences", token=account.access_token)
    assert stored.data == chosen


def _ids(account: Account) -> dict[str, Any]:
    return {"user": {"id": account.user_id}, "tenant": {"id": account.tenant_id}}


async def _login(client: AuthClient, account: Account) -> dict[str, Any]:
    return dict((await client.login(account.email, account.password)).data)
