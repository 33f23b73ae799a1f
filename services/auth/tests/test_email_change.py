"""Moving an account to another email address: the code mailed to the new address, the password
and free address it needs, and the other sessions it ends, over the bus with the real servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auth_support import Account, AuthClient, ReadEvents
from profile_support import new_session, profile
from sqlalchemy import update

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import one_time_codes


async def change_email(client: AuthClient, account: Account, new_email: str) -> str:
    """Ask for ``new_email`` with the password; the code mailed to it."""
    reply = await client.call(
        "users.email.change",
        {"new_email": new_email, "current_password": client.password},
        token=account.access_token,
    )
    assert reply.status == 202
    return await client.mail.mailed_code(new_email, "email_change")


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
    elsewhere = await new_session(client, account)
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
