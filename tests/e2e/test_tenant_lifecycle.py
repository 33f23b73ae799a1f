"""An operator runs a tenant's lifecycle through the gateway: finds the tenant by its owner's
email, suspends it (the tenant's very next request is refused, its open stream ends, nobody of
it can log in, the operator goes on working), reactivates it (everything works again), and
creates a tenant for someone, whose invite makes them its owner."""

from __future__ import annotations

from typing import Any

import httpx
from e2e_support import PASSWORD, StreamWatch, bearer, member_of, verified_owner

from agentbus_shared.testing.stack import Stack

PLATFORM = "/api/v1/platform/tenants"


def operator(client: httpx.Client, stack: Stack, email: str) -> dict[str, str]:
    """A verified account granted platform:operate with ``agentbus auth operators grant``; its
    header."""
    verified_owner(client, stack, email)
    stack.agentbus("auth", "operators", "grant", email)
    tokens = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).json()
    return bearer(tokens)


def login(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})


def test_an_operator_suspends_and_reactivates_a_tenant(stack: Stack) -> None:
    with stack.client() as client:
        ops = operator(client, stack, "ops@lifecycle.example")
        owner = verified_owner(client, stack, "owner@lifecycle.example")
        member: dict[str, Any] = member_of(client, stack, owner, "member@lifecycle.example")
        member_tokens = bearer(member["tokens"])

        found = client.get(PLATFORM, params={"q": "owner@lifecycle"}, headers=ops)
        assert found.status_code == 200, found.text
        (tenant,) = found.json()["items"]
        page = client.get(f"{PLATFORM}/{tenant['id']}", headers=ops).json()
        assert (page["status"], page["members_count"]) == ("active", 2)

        stream = StreamWatch(stack, bearer(owner), "/api/v1/billing/stream")
        suspended = client.post(
            f"{PLATFORM}/{tenant['id']}/suspend", json={"reason": "chargeback"}, headers=ops
        )
        assert suspended.status_code == 200, suspended.text
        refused = client.get("/api/v1/auth/me", headers=member_tokens)
        assert (refused.status_code, refused.json()["code"]) == (403, "tenant_suspended")
        ended = stream.wait_for(lambda e: e.event == "error", "the stream's end")
        assert ended.data["code"] == "tenant_suspended"
        stream.stop()
        assert login(client, "member@lifecycle.example").json()["code"] == "tenant_suspended"
        assert client.get("/api/v1/auth/me", headers=ops).status_code == 200
        listed = client.get(PLATFORM, params={"status": "suspended"}, headers=ops).json()
        assert tenant["id"] in [t["id"] for t in listed["items"]]

        back = client.post(f"{PLATFORM}/{tenant['id']}/reactivate", headers=ops)
        assert back.json()["status"] == "active"
        assert client.get("/api/v1/auth/me", headers=member_tokens).status_code == 200
        assert login(client, "member@lifecycle.example").status_code == 200


def test_an_operator_creates_a_tenant_for_its_owner(stack: Stack) -> None:
    with stack.client() as client:
        ops = operator(client, stack, "ops@creation.example")
        for plan, code in (("starter", "plan_needs_payment"), ("platinum", "unknown_plan")):
            refused = client.post(
                PLATFORM,
                json={"name": "Priced", "owner_email": "x@creation.example", "plan": plan},
                headers=ops,
            )
            assert (refused.status_code, refused.json()["code"]) == (422, code)
        created = client.post(
            PLATFORM,
            json={"name": "Greenhouse", "owner_email": "owner@creation.example", "plan": "free"},
            headers=ops,
        )
        assert created.status_code == 201, created.text
        accept = {"token": stack.mailed_invite("owner@creation.example"), "password": PASSWORD}
        joined = client.post("/api/v1/tenants/invites/accept", json=accept).json()
        assert joined["tenant"]["id"] == created.json()["id"]
        assert joined["tenant"]["role"] == "owner"
