"""Email verification and password reset: codes by mail, single use, attempt-limited, no enumeration."""

from __future__ import annotations

import asyncio
import itertools

from auth_support import AuthClient, ClientFor, ReadEvents, StartAuth

from agentbus_auth.audit.repository import AuditKind


async def test_email_is_verified_with_the_code_from_the_mail(client: AuthClient) -> None:
    account = await client.register(display_name="Ada")
    code = await client.mail.mailed_code(account.email, "verify_email")
    assert len(code) == 8
    assert code.isdigit()
    await client.call("email.verify", {"code": code}, token=account.access_token)
    me = (await client.call("me", token=account.access_token)).data
    assert me["user"]["email_verified"] is True
    again = await client.error("email.verify", {"code": code}, token=account.access_token)
    assert (again.status, again.code) == (400, "invalid_code")
    already = await client.error("email.send", token=account.access_token)
    assert (already.status, already.code) == (409, "email_already_verified")


async def test_a_new_verification_code_replaces_the_old_one(client: AuthClient) -> None:
    account = await client.register()
    old = await client.mail.mailed_code(account.email, "verify_email")
    await client.call("email.send", token=account.access_token)
    new = await client.mail.mailed_code(account.email, "verify_email", count=2)
    assert new != old
    stale = await client.error("email.verify", {"code": old}, token=account.access_token)
    assert stale.code == "invalid_code"
    await client.call("email.verify", {"code": new}, token=account.access_token)


async def test_verification_mails_are_rate_limited(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"code_requests_per_hour": 2}))
    account = await client.register()
    await client.call("email.send", token=account.access_token)
    await client.call("email.send", token=account.access_token)
    error = await client.error("email.send", token=account.access_token)
    assert (error.status, error.code) == (429, "too_many_attempts")


async def test_the_event_carries_no_code(client: AuthClient, events: ReadEvents) -> None:
    account = await client.register()
    code = await client.mail.mailed_code(account.email, "verify_email")
    requested = await events("events.auth.*.email.requested", 1)
    assert code not in str(requested)
    assert requested[0]["data"]["secret_ref"].startswith("otc_")


async def test_forgot_password_never_reveals_whether_an_account_exists(client: AuthClient) -> None:
    account = await client.register()
    known = await client.call("password.forgot", {"email": account.email})
    unknown = await client.call("password.forgot", {"email": "nobody@example.com"})
    assert (known.status, known.data) == (unknown.status, unknown.data) == (202, None)
    assert await client.mail.mailed_code(account.email, "password_reset")
    await asyncio.sleep(0.5)
    assert all("nobody@" not in p.read_text() for p in client.mail.directory.glob("*.eml"))


async def test_reset_password_sets_it_and_revokes_every_session(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register()
    second = (await client.login(account.email, client.password)).data
    await client.call("password.forgot", {"email": account.email})
    code = await client.mail.mailed_code(account.email, "password_reset")
    await client.call(
        "password.reset",
        {"email": account.email, "code": code, "new_password": client.other_password},
    )
    for refresh_token in (account.refresh_token, second["refresh_token"]):
        assert (await client.error("refresh", {"refresh_token": refresh_token})).status == 401
    revoked = await events("events.auth.*.session.revoked", 2)
    assert {e["data"]["reason"] for e in revoked} == {"password_reset"}
    assert (
        await client.error("login", {"email": account.email, "password": client.password})
    ).status == 401
    assert (await client.login(account.email, client.other_password)).data["access_token"]
    reused = await client.error(
        "password.reset",
        {"email": account.email, "code": code, "new_password": "another-fresh-passphrase-9"},
    )
    assert reused.code == "invalid_code"


async def test_reset_code_brute_force_is_stopped_by_the_attempt_limit(client: AuthClient) -> None:
    account = await client.register()
    await client.call("password.forgot", {"email": account.email})
    code = await client.mail.mailed_code(account.email, "password_reset")
    wrong = [f"{(int(code) + i) % 10**8:08d}" for i in range(1, 6)]
    for guess in wrong:
        error = await client.error(
            "password.reset",
            {"email": account.email, "code": guess, "new_password": client.other_password},
        )
        assert (error.status, error.code) == (400, "invalid_code")
    stopped = await client.error(
        "password.reset",
        {"email": account.email, "code": code, "new_password": client.other_password},
    )
    assert stopped.code == "invalid_code"  # the right code no longer works either
    assert (await client.login(account.email, client.password)).data["access_token"]


async def test_concurrent_reset_guesses_cannot_exceed_the_attempt_limit(client: AuthClient) -> None:
    account = await client.register()
    await client.call("password.forgot", {"email": account.email})
    code = await client.mail.mailed_code(account.email, "password_reset")
    guesses = [f"{(int(code) + i) % 10**8:08d}" for i in range(1, 21)]
    await asyncio.gather(
        *(
            client.error(
                "password.reset",
                {"email": account.email, "code": g, "new_password": client.other_password},
            )
            for g in guesses
        )
    )
    stopped = await client.error(
        "password.reset",
        {"email": account.email, "code": code, "new_password": client.other_password},
    )
    assert stopped.code == "invalid_code"


async def test_a_weak_new_password_keeps_the_reset_code_usable(client: AuthClient) -> None:
    account = await client.register()
    await client.call("password.forgot", {"email": account.email})
    code = await client.mail.mailed_code(account.email, "password_reset")
    weak = await client.error(
        "password.reset", {"email": account.email, "code": code, "new_password": "password1234"}
    )
    assert (weak.status, weak.code) == (422, "weak_password")
    assert weak.details[0]["loc"] == ["new_password"]
    await client.call(
        "password.reset",
        {"email": account.email, "code": code, "new_password": client.other_password},
    )


async def test_reset_for_an_unknown_email_says_only_invalid_code(client: AuthClient) -> None:
    error = await client.error(
        "password.reset",
        {"email": "nobody@example.com", "code": "12345678", "new_password": "whatever-long-phrase"},
    )
    assert (error.status, error.code) == (400, "invalid_code")


async def test_the_last_five_passwords_cannot_be_reused(client: AuthClient) -> None:
    account = await client.register()
    token = account.access_token
    passwords = [client.password] + [f"rotating-passphrase-{n}-quokka" for n in range(5)]
    for previous, new in itertools.pairwise(passwords):
        await client.call(
            "password.change", {"current_password": previous, "new_password": new}, token=token
        )
    # Now the history holds passwords[1..5]; passwords[0] has dropped out.
    recent = await client.error(
        "password.change",
        {"current_password": passwords[-1], "new_password": passwords[2]},
        token=token,
    )
    assert (recent.status, recent.code) == (422, "weak_password")
    await client.call(
        "password.change",
        {"current_password": passwords[-1], "new_password": passwords[0]},
        token=token,
    )


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register()
    other = (await client.login(account.email, client.password)).data
    wrong = await client.error(
        "password.change",
        {"current_password": "not-my-password-at-all", "new_password": client.other_password},
        token=account.access_token,
    )
    assert (wrong.status, wrong.code) == (403, "invalid_current_password")
    await client.call(
        "password.change",
        {"current_password": client.password, "new_password": client.other_password},
        token=account.access_token,
    )
    assert (await client.error("refresh", {"refresh_token": other["refresh_token"]})).status == 401
    assert (await client.call("refresh", {"refresh_token": account.refresh_token})).data
    revoked = await events("events.auth.*.session.revoked", 1)
    assert revoked[0]["data"]["reason"] == "password_changed"
    changed = await client.parts.audit.entries(kind=AuditKind.PASSWORD_CHANGED)
    assert [e.user_id for e in changed] == [account.user_id]
