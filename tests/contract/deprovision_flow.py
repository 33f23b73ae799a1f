"""The deprovisioning part of the contract flow: an operator deprovisions a tenant of its own and
waits until every service has answered, so the saga's events and operation are captured."""

from __future__ import annotations

from typing import Any

import httpx
from contract_support import ok

from agentbus_shared.testing.waiting import eventually_blocking

LEAVING_OWNER = "hank@example.com"
PASSWORD = "glacier-violin-tangerine-42"


def deprovision(client: httpx.Client, operator: dict[str, str]) -> None:
    """A new tenant deprovisioned by ``operator`` (its header), followed until it is deleted."""
    leaving = {"email": LEAVING_OWNER, "password": PASSWORD, "tenant_name": "Leaving"}
    tenant_id = ok(client.post("/api/v1/auth/register", json=leaving), 201)["tenant"]["id"]
    page = f"/api/v1/platform/tenants/{tenant_id}"
    ok(client.delete(page, headers=operator), 202)

    def deleted() -> dict[str, Any] | None:
        tenant: dict[str, Any] = ok(client.get(page, headers=operator))
        return tenant if tenant["status"] == "deleted" else None

    eventually_blocking(deleted, what="every service's part deleted", timeout=60)
