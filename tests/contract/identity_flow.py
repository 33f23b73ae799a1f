"""The identity part of the contract flow: a person's own profile, their second factors, and an
operator deciding who may sign up, each driven over HTTP for the bus capture to record."""

from __future__ import annotations

import time
from typing import Any

import httpx
from contract_support import bearer, ok

from agentbus_shared.testing.stack import Stack

PROFILE_OWNER = "dora@example.com"
PROFILE_OWNER_NEW = "dora.new@example.com"
APPLICANT = "erin@example.com"
REJECTED = "frank@example.com"
INVITED = "grace@example.com"


def profile(stack: Stack, client: httpx.Client, password: str) -> None:
    """A person of their own tenant edits the profile, consents, notification preferences and
        email address, then tries to disable the account and is refused as the last owner; no single
    sign-on identity is linked to unlink."""
    registered = ok(
        client.post(
            "/api/v1/auth/register",
            json={"email": PROFILE_OWNER, "password": password, "tenant_name": "Profiles"},
        ),
        201,
    )
    auth = bearer(registered["tokens"])
    ok(client.get("/api/v1/users/me", headers=auth))
    ok(
        client.patch(
            "/api/v1/users/me",
            json={"given_name": "Dora", "timezone": "Europe/Paris", "locale": "fr-FR"},
            headers=auth,
        )
    )
    required = ok(client.get("/api/v1/auth/signup-policy"))
    consents = ok(client.get("/api/v1/users/me/consents", headers=auth))
    assert consents["due"], consents
    versions = {
        "terms_version": required["terms_version"],
        "privacy_version": required["privacy_version"],
    }
    ok(client.put("/api/v1/users/me/consents", json=versions, headers=auth))
    preferences = ok(client.get("/api/v1/users/me/notification-preferences", headers=auth))
    preferences["product"] = {"email": True, "in_app": False}
    ok(client.put("/api/v1/users/me/notification-preferences", json=preferences, headers=auth))
    change = {"new_email": PROFILE_OWNER_NEW, "current_password": password}
    ok(client.post("/api/v1/users/me/email", json=change, headers=auth), 202)
    code = stack.mailed_code(PROFILE_OWNER_NEW, "email_change")
    ok(client.post("/api/v1/users/me/email/confirm", json={"code": code}, headers=auth), 204)
    refused = client.post(
        "/api/v1/users/me/disable", json={"current_password": password}, headers=auth
    )
    assert refused.status_code == 409, refused.text
    assert ok(client.get("/api/v1/auth/sso/identities", headers=auth)) == {"items": []}
    unknown = client.delete("/api/v1/auth/sso/identities/idn_unknown", headers=auth)
    assert unknown.status_code == 404, unknown.text


def second_factors(client: httpx.Client, owner: dict[str, Any]) -> None:
    """The owner's factors, and a new set of recovery codes for the next step's TOTP code (the
    current step was spent by the login): the owner leaves later with one of the new codes."""
    auth = bearer(owner["tokens"])
    methods = ok(client.get("/api/v1/auth/mfa/methods", headers=auth))
    assert methods["totp"] is not None, methods
    code = owner["totp"].at(time.time() + 30)
    renewed = ok(client.post("/api/v1/auth/mfa/recovery-codes", json={"code": code}, headers=auth))
    owner["recovery"] = renewed["recovery_codes"]


def signup(stack: Stack, client: httpx.Client, operator: dict[str, Any]) -> None:
    """Access requests approved and rejected, and a signup invite sent and revoked, by an operator."""
    auth = bearer(operator["tokens"])
    for email in (APPLICANT, REJECTED):
        request = {"email": email, "name": email.split("@")[0].title(), "company": "Example"}
        ok(client.post("/api/v1/auth/request-access", json=request), 202)
    pending = ok(
        client.get("/api/v1/auth/signup-requests", params={"status": "pending"}, headers=auth)
    )["items"]
    by_email = {item["email"]: item["id"] for item in pending}
    ok(client.post(f"/api/v1/auth/signup-requests/{by_email[APPLICANT]}/approve", headers=auth))
    stack.mailed_link(APPLICANT, "signup_invite")
    ok(
        client.post(
            f"/api/v1/auth/signup-requests/{by_email[REJECTED]}/reject",
            json={"reason": "We are not open to your region yet."},
            headers=auth,
        )
    )
    invite = ok(
        client.post("/api/v1/auth/signup-invites", json={"email": INVITED}, headers=auth), 201
    )
    ok(client.get("/api/v1/auth/signup-invites", headers=auth))
    ok(client.post(f"/api/v1/auth/signup-invites/{invite['id']}/revoke", headers=auth))
