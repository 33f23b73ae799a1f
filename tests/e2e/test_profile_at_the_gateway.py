"""The self-service profile through the running stack: the gateway forwards the /users routes with
their statuses and problems, and disabling an account ends its sessions at the gateway."""

from __future__ import annotations

import pytest
from e2e_support import PASSWORD, bearer, member_of, verified_owner

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = pytest.mark.e2e


def test_profile_routes_answer_through_the_gateway(stack: Stack) -> None:
    with stack.client() as client:
        owner = verified_owner(client, stack, "ruth@example.com")
        changed = client.patch("/api/v1/users/me", json={"locale": "de-CH"}, headers=bearer(owner))
        assert (changed.status_code, changed.json()["locale"]) == (200, "de-CH")
        bad = client.patch("/api/v1/users/me", json={"timezone": "Nowhere"}, headers=bearer(owner))
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        everything_on = {"email": True, "in_app": True}
        no_security_mail = {
            "security": {"email": False, "in_app": True},
            "billing": everything_on,
            "product": everything_on,
            "incidents": everything_on,
        }
        refused = client.put(
            "/api/v1/users/me/notification-preferences",
            json=no_security_mail,
            headers=bearer(owner),
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "security_email_required")
        methods = client.get("/api/v1/auth/mfa/methods", headers=bearer(owner))
        assert methods.json() == {"totp": None, "recovery_codes_remaining": 0}
        asked = client.post(
            "/api/v1/users/me/email",
            json={"new_email": "ruth.new@example.com", "current_password": PASSWORD},
            headers=bearer(owner),
        )
        assert asked.status_code == 202, asked.text


def test_disabling_an_account_ends_its_sessions_at_the_gateway(stack: Stack) -> None:
    with stack.client() as client:
        owner = verified_owner(client, stack, "olga@example.com")
        member = member_of(client, stack, owner, "piet@example.com")["tokens"]
        other = client.post(
            "/api/v1/auth/token", json={"email": "piet@example.com", "password": PASSWORD}
        ).json()

        disabled = client.post(
            "/api/v1/users/me/disable", json={"current_password": PASSWORD}, headers=bearer(member)
        )

        assert disabled.status_code == 204, disabled.text
        assert client.get("/api/v1/auth/me", headers=bearer(member)).status_code == 401
        eventually_blocking(
            lambda: client.get("/api/v1/auth/me", headers=bearer(other)).status_code == 401,
            what="the account's other session refused at the gateway",
            timeout=10,
        )
        last_owner = client.post(
            "/api/v1/users/me/disable", json={"current_password": PASSWORD}, headers=bearer(owner)
        )
        assert (last_owner.status_code, last_owner.json()["code"]) == (409, "last_owner")
