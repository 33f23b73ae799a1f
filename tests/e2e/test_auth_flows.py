"""Auth through the running stack: HTTP at the gateway, codes read from the dev mail sink."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from e2e_support import PASSWORD, bearer, register

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking, in_previous_totp_step

pytestmark = pytest.mark.e2e


def wait_until_refused(client: httpx.Client, headers: dict[str, str]) -> None:
    """The gateway learns of a revocation through the bus: give the event a moment."""
    eventually_blocking(
        lambda: client.get("/api/v1/auth/me", headers=headers).status_code == 401,
        what="the revoked session refused at the gateway",
        timeout=10,
    )


def test_sign_up_verify_the_email_and_see_yourself(stack: Stack) -> None:
    with stack.client() as client:
        reply = register(client, "ada@example.com", "Engines")
        assert reply.status_code == 201, reply.text
        tokens = reply.json()["tokens"]
        code = stack.mailed_code("ada@example.com", "verify_email")
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


def test_a_reused_refresh_token_ends_the_session_at_the_gateway(stack: Stack) -> None:
    with stack.client() as client:
        tokens = register(client, "grace@example.com", "Navy").json()["tokens"]
        rotated = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert rotated.status_code == 200
        reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert (reuse.status_code, reuse.json()["code"]) == (401, "refresh_token_reused")
        wait_until_refused(client, bearer(rotated.json()))


def test_a_browser_session_lives_in_cookies_across_refreshes_until_logout(stack: Stack) -> None:
    with stack.client(headers={"X-Agentbus-Session": "cookie"}) as client:
        reply = register(client, "lamarr@example.com", "Spread Spectrum")
        assert reply.status_code == 201, reply.text
        assert "refresh_token" not in reply.json()["tokens"]

        def browser() -> dict[str, str]:
            proof = client.cookies.get("agentbus_csrf", path="/") or ""
            return {"Origin": stack.gateway_url, "X-CSRF-Token": proof}

        for _ in range(2):  # as a page does after each reload: the cookie is the session
            renewed = client.post("/api/v1/auth/refresh", headers=browser())
            assert renewed.status_code == 200, renewed.text
            assert "refresh_token" not in renewed.json()
        tokens = renewed.json()
        assert client.get("/api/v1/auth/me", headers=bearer(tokens)).status_code == 200
        logout = client.post("/api/v1/auth/logout", headers=browser() | bearer(tokens))
        assert logout.status_code == 204, logout.text
        assert client.cookies.get("agentbus_csrf", path="/") is None
        gone = client.post("/api/v1/auth/refresh", headers=browser())
        assert (gone.status_code, gone.json()["code"]) == (401, "refresh_cookie_missing")


def test_login_with_totp_then_reset_the_password_by_mail(stack: Stack) -> None:
    with stack.client() as client:
        tokens = register(client, "hedy@example.com", "Radio").json()["tokens"]
        secret = client.post(
            "/api/v1/auth/mfa/totp/enroll",
            json={"current_password": PASSWORD},
            headers=bearer(tokens),
        ).json()["secret"]
        totp = pyotp.TOTP(secret)
        codes = client.post(
            "/api/v1/auth/mfa/totp/verify",
            json={"code": totp.at(in_previous_totp_step()), "current_password": PASSWORD},
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
        code = stack.mailed_code("hedy@example.com", "password_reset")
        new_password = "quartz-harbor-lantern-77"
        reset = client.post(
            "/api/v1/auth/password/reset",
            json={"email": "hedy@example.com", "code": code, "new_password": new_password},
        )
        assert reset.status_code == 204, reset.text
        wait_until_refused(client, bearer(done.json()))
        old = client.post(
            "/api/v1/auth/token", json={"email": "hedy@example.com", "password": PASSWORD}
        )
        assert old.status_code == 401


def test_a_member_removed_from_the_tenant_loses_its_open_billing_stream(stack: Stack) -> None:
    with stack.client() as client:
        owner = register(client, "ida@example.com", "Looms").json()["tokens"]
        code = stack.mailed_code("ida@example.com", "verify_email")
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
