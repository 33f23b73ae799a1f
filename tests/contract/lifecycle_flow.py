"""The tenant lifecycle part of the contract flow: an operator finds a tenant of its own by its
owner's email, suspends and reactivates it, and creates a tenant for someone on the free plan,
so the lifecycle's operations and events are captured."""

from __future__ import annotations

import httpx
from contract_support import ok

PAUSED_OWNER = "ivy@example.com"
INVITED_OWNER = "june@example.com"
PASSWORD = "glacier-violin-tangerine-42"
PLATFORM = "/api/v1/platform/tenants"


def suspend_and_reactivate(client: httpx.Client, operator: dict[str, str]) -> None:
    """A new tenant found, suspended and reactivated by ``operator`` (its header)."""
    paused = {"email": PAUSED_OWNER, "password": PASSWORD, "tenant_name": "Paused"}
    ok(client.post("/api/v1/auth/register", json=paused), 201)
    found = ok(client.get(PLATFORM, params={"q": PAUSED_OWNER}, headers=operator))
    (tenant,) = found["items"]
    page = f"{PLATFORM}/{tenant['id']}"
    ok(client.post(f"{page}/suspend", json={"reason": "contract flow"}, headers=operator))
    ok(client.post(f"{page}/reactivate", headers=operator))


def create_for_someone(client: httpx.Client, operator: dict[str, str]) -> None:
    created = {"name": "Invited", "owner_email": INVITED_OWNER, "plan": "free"}
    ok(client.post(PLATFORM, json=created, headers=operator), 201)
