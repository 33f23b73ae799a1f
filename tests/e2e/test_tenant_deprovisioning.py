"""An operator deprovisions a tenant through the gateway: the tenant is refused at once, every
service deletes its part, the tenant's page follows each part until the tenant is deleted, and
afterwards nothing of it is readable in any schema: no table with a ``tenant_id`` column holds a
row of it but auth's record of each part's deletion, no outbox keeps an event of it but the
saga's own, and auth's tombstone row of the tenant keeps no name, slug or person."""

from __future__ import annotations

from typing import Any

from e2e_support import bearer, member_of, verified_owner
from test_tenant_lifecycle import PLATFORM, operator

from agentbus_shared.contracts.platform import DATA_PARTS
from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.tenant_data import (
    OUTBOX_TABLES_SQL,
    TENANT_TABLES_SQL,
    outbox_events_sql,
    tenant_rows_sql,
)
from agentbus_shared.testing.waiting import eventually_blocking

OWNER = "owner@deprovision.example"
MEMBER = "member@deprovision.example"


def rows_left(stack: Stack, tenant_id: str) -> dict[str, int]:
    """``schema.table`` -> the tenant's rows in it, for every table holding some, and
    ``schema.outbox`` -> the tenant's events it keeps (the saga's own aside)."""
    tables = [row[0] for row in stack.psql(TENANT_TABLES_SQL)]
    outboxes = [row[0] for row in stack.psql(OUTBOX_TABLES_SQL)]
    counts = stack.psql(tenant_rows_sql(tables, tenant_id))
    counts += stack.psql(outbox_events_sql(outboxes, tenant_id))
    return {table: int(n) for table, n in counts if int(n)}


def test_an_operator_deprovisions_a_tenant_and_nothing_of_it_is_left(stack: Stack) -> None:
    with stack.client() as client:
        ops = operator(client, stack, "ops@deprovision.example")
        owner_tokens = verified_owner(client, stack, OWNER)
        owner = bearer(owner_tokens)
        member_of(client, stack, owner_tokens, MEMBER)
        chat = client.post("/api/v1/chat", json={"message": "Plan the garden"}, headers=owner)
        assert chat.status_code == 200, chat.text
        tenant_id = client.get("/api/v1/tenants/current", headers=owner).json()["id"]
        eventually_blocking(
            lambda: {t.split(".")[0] for t in rows_left(stack, tenant_id)} >= set(DATA_PARTS),
            what="the tenant's data in every service",
        )

        started = client.delete(f"{PLATFORM}/{tenant_id}", headers=ops)
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "deprovisioning"
        refused = client.get("/api/v1/auth/me", headers=owner)
        assert (refused.status_code, refused.json()["code"]) == (403, "tenant_suspended")
        assert client.delete(f"{PLATFORM}/{tenant_id}", headers=ops).status_code == 202

        def deleted() -> dict[str, Any] | None:
            page: dict[str, Any] = client.get(f"{PLATFORM}/{tenant_id}", headers=ops).json()
            return page if page["status"] == "deleted" else None

        page = eventually_blocking(deleted, what="every part deleted", timeout=60)
        assert {part["service"]: part["status"] for part in page["data_parts"]} == dict.fromkeys(
            DATA_PARTS, "deleted"
        )

    assert rows_left(stack, tenant_id) == {"auth.tenant_data_parts": len(DATA_PARTS)}
    (tombstone,) = stack.psql(
        f"SELECT name, slug, suspension_reason IS NULL FROM auth.tenants WHERE id = '{tenant_id}'"
    )
    assert tombstone == ["Deleted tenant", f"deleted-{tenant_id}", "t"]
    people = stack.psql(
        f"SELECT count(*) FROM auth.users WHERE email_normalized IN ('{OWNER}', '{MEMBER}')"
    )
    assert people == [["0"]]
