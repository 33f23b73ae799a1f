"""A representative day of the product, driven over HTTP only, for the bus capture to record.

One tenant's owner signs up, verifies the email, turns on TOTP, logs in with it, rotates tokens,
renews the recovery codes, decides access requests as an operator (another person edits a
profile in between: identity_flow), deprovisions another tenant (deprovision_flow), suspends
and reactivates a third and creates one for someone (lifecycle_flow), invites a
member, reads the team's activity feed (activity_flow), reads the team's features and overrides
one as an operator, manages a service account, chats (a handoff and a tool in a stream),
reaches the plan's quota, pays for a plan at the Stripe stand-in, changes and cancels it, and
leaves by resetting the password and logging out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pyotp
from activity_flow import read_the_feed
from contract_capture import BusCapture
from contract_support import bearer, ok
from deprovision_flow import deprovision
from identity_flow import profile, second_factors, signup
from lifecycle_flow import create_for_someone, suspend_and_reactivate

from agentbus_shared.contracts.billing import UsageThresholdReached
from agentbus_shared.testing.stack import Stack, read_sse
from agentbus_shared.testing.waiting import eventually_blocking, in_previous_totp_step

OWNER = "ada@example.com"
MEMBER = "bob@example.com"
LATECOMER = "carol@example.com"
PASSWORD = "glacier-violin-tangerine-42"
NEW_PASSWORD = "quartz-harbor-lantern-77"
RESET_PASSWORD = "saffron-meadow-compass-19"

FREE_MESSAGES = 4
"""The free plan's message limit in this stack (the flow reaches 80 % and 100 % of it)."""


def plans_file(directory: Path, shipped: Path) -> Path:
    """The shipped catalog with a free plan small enough to run out of in a few messages."""
    text = shipped.read_text()
    small, count = re.subn(
        r"(code = \"free\".*?limits = \{ messages = )\d+",
        rf"\g<1>{FREE_MESSAGES}",
        text,
        flags=re.S,
    )
    assert count == 1, "the free plan's limits were not found in the catalog"
    path = directory / "plans.toml"
    path.write_text(small)
    return path


def run_flow(stack: Stack, capture: BusCapture) -> dict[str, Any]:
    """Drive the flow while ``capture`` records the bus; returns what later checks need."""
    with stack.client() as client:
        ok(client.get("/health/ready"))
        ok(client.get("/api/v1/billing/plans"))
        _single_sign_on(client)
        owner = _sign_up_with_mfa(stack, client)
        second_factors(client, owner)
        profile(stack, client, PASSWORD)
        signup(stack, client, owner)
        deprovision(client, bearer(owner["tokens"]))
        suspend_and_reactivate(client, bearer(owner["tokens"]))
        create_for_someone(client, bearer(owner["tokens"]))
        member = _team(stack, client, owner)
        _administer(client, owner, member)
        read_the_feed(client, bearer(owner["tokens"]))
        _features(client, owner)
        _service_account(client, owner)
        stream = _chat(client, owner, capture)
        _billing(stack, client, owner)
        _leave(stack, client, owner, member)
        return {"tenant_id": owner["tenant_id"], "stream_id": stream}


def _single_sign_on(client: httpx.Client) -> None:
    """The login page's providers (none configured here); a start and a callback for a provider
    that is not there each land on the login page with the reason."""
    assert ok(client.get("/api/v1/auth/sso/providers")) == {"items": []}
    start = client.get("/api/v1/auth/sso/nobody/start", params={"return_to": "/app"})
    assert start.status_code == 302, start.text
    assert start.headers["location"] == "/login?sso_error=sso_provider_unknown"
    back = client.get("/api/v1/auth/sso/nobody/callback", params={"state": "s", "code": "c"})
    assert back.headers["location"] == "/login?sso_error=sso_provider_unknown"


def _sign_up_with_mfa(stack: Stack, client: httpx.Client) -> dict[str, Any]:
    registered = ok(
        client.post(
            "/api/v1/auth/register",
            json={"email": OWNER, "password": PASSWORD, "tenant_name": "Engines"},
        ),
        201,
    )
    first = registered["tokens"]
    stack.mailed_code(OWNER, "verify_email")
    ok(client.post("/api/v1/auth/email/send", headers=bearer(first)), 204)
    code = stack.mailed_code(OWNER, "verify_email", count=2)
    ok(client.post("/api/v1/auth/email/verify", json={"code": code}, headers=bearer(first)), 204)
    stack.agentbus("auth", "operators", "grant", OWNER)  # for the billing operator API below
    ok(client.get("/api/v1/auth/me", headers=bearer(first)))
    ok(client.get("/api/v1/tenants/current", headers=bearer(first)))

    secret = ok(
        client.post(
            "/api/v1/auth/mfa/totp/enroll",
            json={"current_password": PASSWORD},
            headers=bearer(first),
        )
    )["secret"]
    totp = pyotp.TOTP(secret)
    recovery = ok(
        client.post(
            "/api/v1/auth/mfa/totp/verify",
            json={"code": totp.at(in_previous_totp_step()), "current_password": PASSWORD},
            headers=bearer(first),
        )
    )["recovery_codes"]
    challenge = ok(
        client.post("/api/v1/auth/token", json={"email": OWNER, "password": PASSWORD}), 202
    )
    second = ok(
        client.post(
            "/api/v1/auth/mfa/complete",
            json={"challenge_token": challenge["challenge_token"], "code": totp.now()},
        )
    )
    tokens = ok(
        client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    )
    sessions = ok(client.get("/api/v1/auth/sessions", headers=bearer(tokens)))["items"]
    other = next(s["id"] for s in sessions if not s["current"])
    ok(client.delete(f"/api/v1/auth/sessions/{other}", headers=bearer(tokens)), 204)
    return {
        "tokens": tokens,
        "tenant_id": registered["tenant"]["id"],
        "totp": totp,
        "recovery": recovery,
    }


def _team(stack: Stack, client: httpx.Client, owner: dict[str, Any]) -> dict[str, Any]:
    auth = bearer(owner["tokens"])
    ok(
        client.post(
            "/api/v1/tenants/invites", json={"email": MEMBER, "role": "member"}, headers=auth
        ),
        201,
    )
    joined = ok(
        client.post(
            "/api/v1/tenants/invites/accept",
            json={
                "token": stack.mailed_invite(MEMBER),
                "password": PASSWORD,
                "display_name": "Bob",
            },
        )
    )
    ok(
        client.patch(
            f"/api/v1/tenants/members/{joined['user']['id']}", json={"role": "admin"}, headers=auth
        )
    )
    ok(client.get("/api/v1/tenants/members", headers=auth))
    return {"user_id": joined["user"]["id"], "tokens": joined["tokens"]}


def _administer(client: httpx.Client, owner: dict[str, Any], member: dict[str, Any]) -> None:
    """Tenant administration: slug, a revoked invite, settings, the audit log, an admin reset."""
    auth = bearer(owner["tokens"])
    ok(client.patch("/api/v1/tenants/current", json={"slug": "contract-team"}, headers=auth))
    invite = ok(
        client.post("/api/v1/tenants/invites", json={"email": LATECOMER}, headers=auth), 201
    )
    ok(client.get("/api/v1/tenants/invites", headers=auth))
    ok(client.delete(f"/api/v1/tenants/invites/{invite['id']}", headers=auth), 204)
    settings = {
        "billing_email": "billing@example.com",
        "contacts": [{"name": "Ada", "email": "ada@example.com", "role": "security"}],
        "webhook_url": "https://93.184.215.14/hooks",
        "webhook_events": ["member.changed"],
        "flags": {"beta": True},
    }
    ok(client.put("/api/v1/tenants/settings", json=settings, headers=auth))
    ok(client.get("/api/v1/tenants/settings", headers=auth))
    ok(client.get("/api/v1/auth/audit", params={"limit": 5}, headers=auth))
    reset = {"user_id": member["user_id"]}
    ok(client.post("/api/v1/auth/password/admin-reset", json=reset, headers=auth), 204)


def _features(client: httpx.Client, owner: dict[str, Any]) -> None:
    """The team's features, and an operator's override of them (the owner is an operator)."""
    auth = bearer(owner["tokens"])
    assert "service_accounts" in ok(client.get("/api/v1/features", headers=auth))["features"]
    tenant_features = f"/api/v1/platform/tenants/{owner['tenant_id']}/features"
    ok(client.get(tenant_features, headers=auth))
    on = ok(client.put(tenant_features, json={"overrides": {"research_agent": True}}, headers=auth))
    assert "research_agent" in on["features"]
    ok(client.put(tenant_features, json={"overrides": {}}, headers=auth))


def _service_account(client: httpx.Client, owner: dict[str, Any]) -> None:
    auth = bearer(owner["tokens"])
    created = ok(
        client.post(
            "/api/v1/auth/service-accounts",
            json={"name": "reporting", "scopes": ["conversations:read"]},
            headers=auth,
        ),
        201,
    )
    ok(client.get("/api/v1/auth/service-accounts", headers=auth))
    token = ok(
        client.post(
            "/api/v1/auth/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
            },
        )
    )
    ok(client.get("/api/v1/conversations", headers=bearer(token)))
    ok(client.delete(f"/api/v1/auth/service-accounts/{created['id']}", headers=auth), 204)


def _chat(client: httpx.Client, owner: dict[str, Any], capture: BusCapture) -> str:
    auth = bearer(owner["tokens"])
    first = ok(client.post("/api/v1/chat", json={"message": "Hello there!"}, headers=auth))
    conversation = first["conversation_id"]
    events = []
    with client.stream(
        "POST",
        "/api/v1/chat/stream",
        json={"message": "What does my plan cost?", "conversation_id": conversation},
        headers=auth,
    ) as response:
        assert response.status_code == 200, response.read()
        for event in read_sse(response):
            events.append(event)
            if event.event in {"final", "error"}:
                break
    names = [e.event for e in events]
    assert {"handoff", "tool_call", "tool_result", "final"} <= set(names), names
    stream_id = events[0].data["stream_id"]
    ok(client.post(f"/api/v1/chat/streams/{stream_id}/cancel", headers=auth), 202)

    ok(client.get("/api/v1/agents", headers=auth))
    ok(client.get("/api/v1/tools", params={"agent": "billing"}, headers=auth))
    ok(client.get("/api/v1/conversations", headers=auth))
    ok(client.get("/api/v1/conversations/search", params={"q": "plan"}, headers=auth))
    ok(client.get(f"/api/v1/conversations/{conversation}", headers=auth))
    ok(client.get(f"/api/v1/conversations/{conversation}/messages", headers=auth))
    ok(client.patch(f"/api/v1/conversations/{conversation}", json={"title": "Plans"}, headers=auth))

    # The free plan's quota: the third and fourth messages cross 80 % and 100 %, the fifth is refused.
    for text in ("What is 6 times 7?", "Thanks!"):
        ok(client.post("/api/v1/chat", json={"message": text}, headers=auth))

    def refused() -> httpx.Response | None:
        reply = client.post("/api/v1/chat", json={"message": "One more?"}, headers=auth)
        return reply if reply.status_code == 429 else None

    # each try that is not refused is one more message: try at the old pace, not faster
    refusal = eventually_blocking(refused, what="the quota to be enforced", interval=0.2)
    assert refusal.json()["code"] == "quota_exceeded", refusal.text
    # Chat refuses on its own count of accepted messages, before billing has metered the last
    # runs; the checkout below changes the plan, and runs metered after it no longer cross the
    # free plan's thresholds. So billing's announcements are awaited before the plan changes.
    eventually_blocking(
        lambda: _thresholds_announced(capture, owner["tenant_id"]),
        what="billing to announce 80 % and 100 % of the free plan's messages",
    )
    ok(client.delete(f"/api/v1/conversations/{conversation}", headers=auth), 204)
    return str(stream_id)


def _thresholds_announced(capture: BusCapture, tenant_id: str) -> bool:
    """Billing's ``usage.threshold`` events for the tenant's messages, 80 % and 100 %, are on the bus."""
    announced = {
        event["data"]["percent"]
        for event in capture.events(UsageThresholdReached.cloud_type())
        if event["data"]["tenant_id"] == tenant_id and event["data"]["meter"] == "messages"
    }
    return {80, 100} <= announced


def _billing(stack: Stack, client: httpx.Client, owner: dict[str, Any]) -> None:
    auth = bearer(owner["tokens"])
    ok(client.get("/api/v1/billing/subscription", headers=auth))
    ok(client.get("/api/v1/billing/usage", headers=auth))
    checkout = ok(
        client.post("/api/v1/billing/subscription", json={"plan": "starter"}, headers=auth), 201
    )
    session_id = checkout["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
    standin = stack.state["companions"]["stripe-standin"]["url"]
    ok(httpx.post(f"{standin}/_standin/checkout/sessions/{session_id}/complete", timeout=30))
    eventually_blocking(
        lambda: ok(client.get("/api/v1/billing/subscription", headers=auth))["plan"] == "starter",
        what="the checkout to be applied",
    )
    ok(client.post("/api/v1/billing/subscription/change", json={"plan": "pro"}, headers=auth))
    ok(client.post("/api/v1/billing/portal", headers=auth))
    ok(
        client.post(
            "/api/v1/billing/subscription/cancel", json={"at_period_end": True}, headers=auth
        )
    )
    eventually_blocking(
        lambda: ok(client.get("/api/v1/billing/invoices", headers=auth))["items"],
        what="an invoice",
    )
    ok(client.get("/api/v1/billing/events", headers=auth))
    ok(client.post("/api/v1/billing/events/replay", json={"dry_run": True}, headers=auth), 202)


def _leave(
    stack: Stack, client: httpx.Client, owner: dict[str, Any], member: dict[str, Any]
) -> None:
    auth = bearer(owner["tokens"])
    removed = ok(client.delete(f"/api/v1/tenants/members/{member['user_id']}", headers=auth))
    assert removed == {"user_id": member["user_id"], "revoked_service_accounts": []}
    ok(
        client.post(
            "/api/v1/auth/password/change",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=auth,
        ),
        204,
    )
    ok(
        client.request(
            "DELETE",
            "/api/v1/auth/mfa/totp",
            json={"code": owner["recovery"][0]},
            headers=auth,
        ),
        204,
    )
    ok(client.post("/api/v1/auth/logout", headers=auth), 204)

    ok(client.post("/api/v1/auth/password/forgot", json={"email": OWNER}), 202)
    code = stack.mailed_code(OWNER, "password_reset")
    ok(
        client.post(
            "/api/v1/auth/password/reset",
            json={"email": OWNER, "code": code, "new_password": RESET_PASSWORD},
        ),
        204,
    )
    again = ok(client.post("/api/v1/auth/token", json={"email": OWNER, "password": RESET_PASSWORD}))
    ok(client.post("/api/v1/auth/logout/all", headers=bearer(again)), 204)
