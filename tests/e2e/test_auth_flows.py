"""Auth through the running stack: HTTP at the gateway, codes read from the dev mail sink."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from typing import Any

import pyotp
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "glacier-violin-tangerine-42"


def mailed_code(stack: Any, to: str, template: str, count: int = 1) -> str:
    """The code of the newest ``template`` mail to ``to`` in ``<var>/mail`` (waits for it)."""
    deadline = time.monotonic() + 30
    while True:
        found = []
        for path in sorted((stack.var_dir / "mail").glob(f"*-{template}-*.eml")):
            message = message_from_bytes(path.read_bytes())
            if message["To"] == to:
                found.append(message)
        if len(found) >= count:
            body = found[-1].get_payload(decode=True).decode()
            match = re.search(r"Code: (\d+)", body)
            assert match, body
            return match.group(1)
        assert time.monotonic() < deadline, f"no {template} mail to {to}"
        time.sleep(0.1)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def wait_until_refused(client: Any, headers: dict[str, str]) -> int:
    """The gateway learns of a revocation through the bus: give the event a moment."""
    deadline = time.monotonic() + 10
    while True:
        status = int(client.get("/api/v1/auth/me", headers=headers).status_code)
        if status == 401 or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_sign_up_verify_the_email_and_see_yourself(stack: Any) -> None:
    with stack.client() as client:
        reply = client.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "tenant_name": "Engines"},
        )
        assert reply.status_code == 201, reply.text
        tokens = reply.json()["tokens"]
        code = mailed_code(stack, "ada@example.com", "verify_email")
        verified = client.post(
            "/api/v1/auth/email/verify", json={"code": code}, headers=bearer(tokens)
        )
        assert verified.status_code == 204, verified.text
        me = client.get("/api/v1/auth/me", headers=bearer(tokens)).json()
        assert me["user"]["email_verified"] is True
        assert me["tenant"]["role"] == "owner"
        jwks = client.get("/.well-known/jwks.json")
        assert {k["kty"] for k in jwks.json()["keys"]} == {"OKP"}
        again = client.get(
            "/.well-known/jwks.json", headers={"If-None-Match": jwks.headers["ETag"]}
        )
        assert again.status_code == 304


def test_a_reused_refresh_token_ends_the_session_at_the_gateway(stack: Any) -> None:
    with stack.client() as client:
        tokens = client.post(
            "/api/v1/auth/register",
            json={"email": "grace@example.com", "password": PASSWORD, "tenant_name": "Navy"},
        ).json()["tokens"]
        rotated = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert rotated.status_code == 200
        reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert (reuse.status_code, reuse.json()["code"]) == (401, "refresh_token_reused")
        assert wait_until_refused(client, bearer(rotated.json())) == 401


def test_login_with_totp_then_reset_the_password_by_mail(stack: Any) -> None:
    with stack.client() as client:
        tokens = client.post(
            "/api/v1/auth/register",
            json={"email": "hedy@example.com", "password": PASSWORD, "tenant_name": "Radio"},
        ).json()["tokens"]
        secret = client.post(
            "/api/v1/auth/mfa/totp/enroll",
            json={"current_password": PASSWORD},
            headers=bearer(tokens),
        ).json()["secret"]
        totp = pyotp.TOTP(secret)
        codes = client.post(
            "/api/v1/auth/mfa/totp/verify",
            json={"code": totp.at(time.time() - 30), "current_password": PASSWORD},
            headers=bearer(tokens),
        )
        assert len(codes.json()["recovery_codes"]) == 10

        challenge = client.post(
            "/api/v1/auth/token", json={"email": "hedy@example.com", "password": PASSWORD}
        )
        assert challenge.status_code == 202
        done = client.post(
            "/api/v1/auth/mfa/complete",
            json={"challenge_token": challenge.json()["challenge_token"], "code": totp.now()},
        )
        assert done.status_code == 200, done.text

        assert (
            client.post(
                "/api/v1/auth/password/forgot", json={"email": "hedy@example.com"}
            ).status_code
            == 202
        )
        code = mailed_code(stack, "hedy@example.com", "password_reset")
        new_password = "quartz-harbor-lantern-77"
        reset = client.post(
            "/api/v1/auth/password/reset",
            json={"email": "hedy@example.com", "code": code, "new_password": new_password},
        )
        assert reset.status_code == 204, reset.text
        assert wait_until_refused(client, bearer(done.json())) == 401
        old = client.post(
            "/api/v1/auth/token", json={"email": "hedy@example.com", "password": PASSWORD}
        )
        assert old.status_code == 401


def test_a_member_removed_from_the_tenant_loses_its_open_billing_stream(stack: Any) -> None:
    with stack.client() as client:
        owner = client.post(
            "/api/v1/auth/register",
            json={"email": "ida@example.com", "password": PASSWORD, "tenant_name": "Looms"},
        ).json()["tokens"]
        code = mailed_code(stack, "ida@example.com", "verify_email")
        verified = client.post(
            "/api/v1/auth/email/verify", json={"code": code}, headers=bearer(owner)
        )
        assert verified.status_code == 204, verified.text
        invited = client.post(
            "/api/v1/tenants/invites",
            json={"email": "ned@example.com", "role": "member"},
            headers=bearer(owner),
        )
        assert invited.status_code == 201, invited.text
        joined = client.post(
            "/api/v1/tenants/invites/accept",
            json={
                "token": stack.mailed_invite("ned@example.com"),
                "password": PASSWORD,
                "display_name": "Ned",
            },
        )
        assert joined.status_code == 200, joined.text
        member = joined.json()
        with client.stream(
            "GET", "/api/v1/billing/stream", headers=bearer(member["tokens"])
        ) as stream:
            assert stream.status_code == 200
            removed = client.delete(
                f"/api/v1/tenants/members/{member['user']['id']}", headers=bearer(owner)
            )
            assert removed.status_code == 200, removed.text
            fields = [line for line in stream.iter_lines() if line.startswith(("event:", "data:"))]
    assert fields[-2] == "event: error"
    assert '"code":"session_revoked"' in fields[-1]
