"""TOTP: enrollment, the login challenge, the replay guard, recovery codes, attempt limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp
from auth_support import Account, AuthClient

from agentbus_auth.audit.repository import AuditKind

STEP = 30


def code_at(secret: str, steps_from_now: int) -> str:
    """The TOTP code of a time step near now (the service accepts one step either side)."""
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * STEP)


async def away_from_a_step_boundary(margin: float = 5.0) -> None:
    """Let a TOTP step that ends within ``margin`` seconds end first, so a code computed now is
    still inside the service's window (one step either side) when the service checks it."""
    left = STEP - time.time() % STEP
    if left < margin:
        await asyncio.sleep(left)


async def enroll(client: AuthClient, account: Account) -> tuple[str, list[str]]:
    """Turn TOTP on with the previous step's code; the secret and the recovery codes."""
    enrollment = await start_enrollment(client, account)
    await away_from_a_step_boundary()
    assert enrollment["otpauth_uri"].startswith("otpauth://totp/")
    codes = await client.call(
        "mfa.totp.verify",
        {"code": code_at(enrollment["secret"], -1), "current_password": client.password},
        token=account.access_token,
    )
    return enrollment["secret"], codes.data["recovery_codes"]


async def start_enrollment(client: AuthClient, account: Account) -> dict[str, Any]:
    reply = await client.call(
        "mfa.totp.enroll", {"current_password": client.password}, token=account.access_token
    )
    return dict(reply.data)


def confirmation(code: str, password: str) -> dict[str, str]:
    return {"code": code, "current_password": password}


async def challenge(client: AuthClient, account: Account) -> str:
    reply = await client.login(account.email, client.password)
    assert reply.status == 202
    assert reply.data["mfa_required"] is True
    return str(reply.data["challenge_token"])


async def test_login_with_totp_needs_the_second_factor(client: AuthClient) -> None:
    account = await client.register()
    secret, recovery = await enroll(client, account)
    assert len(recovery) == 10
    assert len(set(recovery)) == 10

    token = await challenge(client, account)
    tokens = (
        await client.call("mfa.complete", {"challenge_token": token, "code": code_at(secret, 0)})
    ).data
    assert client.claims(tokens["access_token"]).sub == account.user_id
    me = (await client.call("me", token=tokens["access_token"])).data
    assert me["user"]["mfa_enabled"] is True


async def test_totp_code_replay_is_rejected(client: AuthClient) -> None:
    account = await client.register()
    secret, _ = await enroll(client, account)
    code = code_at(secret, 0)
    first = await challenge(client, account)
    await client.call("mfa.complete", {"challenge_token": first, "code": code})

    second = await challenge(client, account)
    replay = await client.error("mfa.complete", {"challenge_token": second, "code": code})
    assert (replay.status, replay.code) == (401, "invalid_mfa_code")
    # An older step than the last accepted one is refused too.
    older = await client.error(
        "mfa.complete", {"challenge_token": second, "code": code_at(secret, -1)}
    )
    assert older.code == "invalid_mfa_code"
    fresh = await client.call(
        "mfa.complete", {"challenge_token": second, "code": code_at(secret, 1)}
    )
    assert fresh.data["access_token"]


async def test_recovery_code_works_once(client: AuthClient) -> None:
    account = await client.register()
    _, recovery = await enroll(client, account)
    first = await challenge(client, account)
    tokens = (
        await client.call("mfa.complete", {"challenge_token": first, "code": recovery[0].lower()})
    ).data
    assert tokens["access_token"]

    second = await challenge(client, account)
    again = await client.error("mfa.complete", {"challenge_token": second, "code": recovery[0]})
    assert again.code == "invalid_mfa_code"
    other = await client.call("mfa.complete", {"challenge_token": second, "code": recovery[1]})
    assert other.data["access_token"]
    used = await client.parts.audit.entries(kind=AuditKind.RECOVERY_CODE_USED)
    assert len(used) == 2


async def test_a_challenge_takes_a_limited_number_of_attempts(client: AuthClient) -> None:
    account = await client.register()
    secret, _ = await enroll(client, account)
    token = await challenge(client, account)
    for _ in range(client.parts.settings.tuning.mfa_challenge_attempts):
        error = await client.error("mfa.complete", {"challenge_token": token, "code": "000000"})
        assert error.code in {"invalid_mfa_code", "account_locked"}
    spent = await client.error(
        "mfa.complete", {"challenge_token": token, "code": code_at(secret, 0)}
    )
    assert (spent.status, spent.code) == (401, "invalid_mfa_challenge")


async def test_wrong_second_factors_count_toward_the_account_lockout(client: AuthClient) -> None:
    account = await client.register()
    await enroll(client, account)
    for _ in range(5):
        token = await challenge(client, account)
        await client.error("mfa.complete", {"challenge_token": token, "code": "123456"})
    locked = await client.error("login", {"email": account.email, "password": client.password})
    assert (locked.status, locked.code) == (429, "account_locked")


async def test_a_challenge_works_once(client: AuthClient) -> None:
    account = await client.register()
    secret, _ = await enroll(client, account)
    token = await challenge(client, account)
    await client.call("mfa.complete", {"challenge_token": token, "code": code_at(secret, 0)})
    again = await client.error(
        "mfa.complete", {"challenge_token": token, "code": code_at(secret, 1)}
    )
    assert again.code == "invalid_mfa_challenge"


async def test_enrolling_twice_and_verifying_without_enrolling_are_refused(
    client: AuthClient,
) -> None:
    account = await client.register()
    never = await client.error(
        "mfa.totp.verify", confirmation("123456", client.password), token=account.access_token
    )
    assert (never.status, never.code) == (409, "mfa_not_enrolled")
    enrollment = await start_enrollment(client, account)
    wrong = await client.error(
        "mfa.totp.verify", confirmation("000000", client.password), token=account.access_token
    )
    assert wrong.code == "invalid_mfa_code"
    await client.call(
        "mfa.totp.verify",
        confirmation(code_at(enrollment["secret"], 0), client.password),
        token=account.access_token,
    )
    twice = await client.error(
        "mfa.totp.enroll", {"current_password": client.password}, token=account.access_token
    )
    assert (twice.status, twice.code) == (409, "mfa_already_enabled")


async def test_disabling_totp_needs_a_current_code(client: AuthClient) -> None:
    account = await client.register()
    secret, _ = await enroll(client, account)
    wrong = await client.error("mfa.totp.disable", {"code": "000000"}, token=account.access_token)
    assert wrong.code == "invalid_mfa_code"
    await client.call("mfa.totp.disable", {"code": code_at(secret, 0)}, token=account.access_token)
    tokens = (await client.login(account.email, client.password)).data
    assert tokens["access_token"]  # no challenge any more
    again = await client.error("mfa.totp.disable", {"code": "000000"}, token=account.access_token)
    assert again.code == "mfa_not_enabled"
    alert = await client.mail.wait(account.email, "security_alert", count=2)
    assert "turned off" in str(alert.get_payload(decode=True))


async def test_digits_of_other_scripts_are_a_wrong_code_not_a_crash(client: AuthClient) -> None:
    # Arabic-Indic digits pass str.isdigit(); hmac.compare_digest raised TypeError on them.
    account = await client.register()
    await enroll(client, account)
    token = await challenge(client, account)
    error = await client.error(
        "mfa.complete", {"challenge_token": token, "code": "\u0661\u0662\u0663\u0664\u0665\u0666"}
    )
    assert 400 <= error.status < 500, error


async def test_confirming_totp_with_other_scripts_digits_is_a_wrong_code(
    client: AuthClient,
) -> None:
    account = await client.register()
    await start_enrollment(client, account)
    for code in (
        "\u0661\u0662\u0663\u0664\u0665\u0666",
        "jh=\U00069e64",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    ):
        error = await client.error(
            "mfa.totp.verify", confirmation(code, client.password), token=account.access_token
        )
        assert 400 <= error.status < 500, (code, error)


async def test_enrolling_totp_needs_the_current_password(client: AuthClient) -> None:
    account = await client.register()
    wrong_change = await client.error(
        "password.change",
        {"current_password": "not-my-password-at-all", "new_password": client.other_password},
        token=account.access_token,
    )
    wrong_start = await client.error(
        "mfa.totp.enroll",
        {"current_password": "not-my-password-at-all"},
        token=account.access_token,
    )
    missing = await client.error("mfa.totp.enroll", token=account.access_token)

    assert (wrong_start.status, wrong_start.code, wrong_start.message) == (
        wrong_change.status,
        wrong_change.code,
        wrong_change.message,
    )
    assert (wrong_start.status, wrong_start.code) == (403, "invalid_current_password")
    assert missing.status == 422
    enrollment = await start_enrollment(client, account)
    wrong_confirm = await client.error(
        "mfa.totp.verify",
        confirmation(code_at(enrollment["secret"], 0), "not-my-password-at-all"),
        token=account.access_token,
    )
    assert (wrong_confirm.status, wrong_confirm.code) == (403, "invalid_current_password")
    still_one_factor = await client.login(account.email, client.password)
    assert still_one_factor.data["access_token"]  # the factor never turned on


async def test_wrong_passwords_at_enrollment_count_toward_the_account_lockout(
    client: AuthClient,
) -> None:
    account = await client.register()
    for _ in range(5):
        await client.error(
            "mfa.totp.enroll",
            {"current_password": "guess-number-one-x"},
            token=account.access_token,
        )

    locked = await client.error("login", {"email": account.email, "password": client.password})

    assert (locked.status, locked.code) == (429, "account_locked")
    refused = await client.error(
        "mfa.totp.enroll", {"current_password": client.password}, token=account.access_token
    )
    assert refused.status == 429


async def test_the_methods_say_since_when_totp_is_on_and_how_many_recovery_codes_are_left(
    client: AuthClient,
) -> None:
    account = await client.register()
    off = await client.call("mfa.methods", token=account.access_token)
    assert off.data == {"totp": None, "recovery_codes_remaining": 0}
    _, codes = await enroll(client, account)
    token = await challenge(client, account)
    await client.call("mfa.complete", {"challenge_token": token, "code": codes[0]})

    on = (await client.call("mfa.methods", token=account.access_token)).data

    assert on["totp"]["enabled_since"]
    assert on["recovery_codes_remaining"] == len(codes) - 1


async def test_new_recovery_codes_replace_the_old_set(client: AuthClient) -> None:
    account = await client.register()
    secret, old = await enroll(client, account)
    await away_from_a_step_boundary()

    reply = await client.call(
        "mfa.recovery_codes.regenerate",
        {"code": code_at(secret, 0)},
        token=account.access_token,
    )

    new = reply.data["recovery_codes"]
    assert len(new) == len(old) and not set(new) & set(old)
    stale = await client.error(
        "mfa.complete", {"challenge_token": await challenge(client, account), "code": old[0]}
    )
    assert stale.code == "invalid_mfa_code"
    fresh = await client.call(
        "mfa.complete", {"challenge_token": await challenge(client, account), "code": new[0]}
    )
    assert fresh.data["access_token"]
    methods = await client.call("mfa.methods", token=account.access_token)
    assert methods.data["recovery_codes_remaining"] == len(new) - 1
    audited = await client.parts.audit.entries(kind=AuditKind.RECOVERY_CODES_REGENERATED)
    assert [e.user_id for e in audited] == [account.user_id]
    alert = await client.mail.wait(account.email, "security_alert", count=2)
    assert "recovery codes" in str(alert.get_payload(decode=True))


async def test_new_recovery_codes_need_a_current_totp_code(client: AuthClient) -> None:
    account = await client.register()
    without = await client.error(
        "mfa.recovery_codes.regenerate", {"code": "123456"}, token=account.access_token
    )
    assert (without.status, without.code) == (409, "mfa_not_enabled")
    _, codes = await enroll(client, account)
    for wrong in ("000000", codes[0]):  # a recovery code does not make new ones
        error = await client.error(
            "mfa.recovery_codes.regenerate", {"code": wrong}, token=account.access_token
        )
        assert (error.status, error.code) == (401, "invalid_mfa_code")
    still = await client.call(
        "mfa.complete", {"challenge_token": await challenge(client, account), "code": codes[0]}
    )
    assert still.data["access_token"]  # the old set still works


async def test_one_totp_code_makes_new_recovery_codes_once(client: AuthClient) -> None:
    account = await client.register()
    secret, _ = await enroll(client, account)
    await away_from_a_step_boundary()
    code = code_at(secret, 0)  # a step after the one enrollment used, whenever this runs
    first = await client.call(
        "mfa.recovery_codes.regenerate", {"code": code}, token=account.access_token
    )

    replay = await client.error(
        "mfa.recovery_codes.regenerate", {"code": code}, token=account.access_token
    )

    assert (replay.status, replay.code) == (401, "invalid_mfa_code")
    fresh = await client.call(
        "mfa.complete",
        {
            "challenge_token": await challenge(client, account),
            "code": first.data["recovery_codes"][0],
        },
    )
    assert fresh.data["access_token"]  # the set the first call made stands
