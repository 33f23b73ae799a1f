"""Deprovisioning a tenant in auth: an operator's request starts the saga (idempotent), auth
deletes its own part, each service's answer is recorded once, and the tenant is deleted when
every part has answered, leaving a tombstone without personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auth_support import AuthClient
from faststream.nats import NatsBroker
from sqlalchemy import text

from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts.events import EventData, make_event
from agentbus_shared.contracts.platform import (
    DATA_PARTS,
    ActivityTenantDataDeleted,
    BillingTenantDataDeleted,
    ChatTenantDataDeleted,
)
from agentbus_shared.testing.tenant_data import tenant_rows
from agentbus_shared.testing.waiting import eventually

TOMBSTONE = {"auth.tenant_data_parts": len(DATA_PARTS)}
"""What auth keeps of a deleted tenant beside its row: each service's part of the deletion."""


async def detail(client: AuthClient, operator: str, tenant_id: str) -> dict[str, Any]:
    reply = await client.call("platform.tenants.get", {"tenant_id": tenant_id}, token=operator)
    return dict(reply.data)


def parts_of(tenant: dict[str, Any]) -> dict[str, str]:
    return {part["service"]: part["status"] for part in tenant["data_parts"]}


async def outbox_count(client: AuthClient, subject: str) -> int:
    async with client.parts.db.session() as session:
        rows = await session.execute(
            text("SELECT count(*) FROM auth.outbox WHERE subject = :subject"), {"subject": subject}
        )
        return int(rows.scalar_one())


async def answer(broker: NatsBroker, data: EventData, tenant_id: str, event_id: str) -> None:
    """Publish a service's ``tenant.data_deleted`` (a second time under another message id)."""
    event = make_event(data, tenant_id=tenant_id, event_id=event_id)
    await EventPublisher(broker).publish_raw(
        event.nats_subject, event.to_bytes(), msg_id=f"{event_id}-{datetime.now(UTC).timestamp()}"
    )


async def test_deprovisioning_deletes_the_tenant_once_every_service_has_answered(
    client: AuthClient, broker: NatsBroker
) -> None:
    owner = await client.register_verified(tenant_name="Doomed")
    member = await client.join(owner, "member")
    elsewhere = await client.register_verified(tenant_name="Elsewhere")
    await client.join(owner, "admin", email=elsewhere.email)
    operator = await client.operator_token()
    tenant_id = owner.tenant_id

    started = await client.call("platform.tenants.delete", {"tenant_id": tenant_id}, token=operator)
    assert started.status == 202
    assert started.data["status"] == "deprovisioning"
    assert started.data["deprovision_requested_at"] is not None
    again = await client.call("platform.tenants.delete", {"tenant_id": tenant_id}, token=operator)
    assert again.status == 202
    assert again.data["deprovision_requested_at"] == started.data["deprovision_requested_at"]
    requested = f"events.auth.{tenant_id}.tenant.deprovision_requested"
    assert await outbox_count(client, requested) == 1

    async def auth_part_done() -> dict[str, Any] | None:
        tenant = await detail(client, operator, tenant_id)
        return tenant if parts_of(tenant).get("auth") == "deleted" else None

    tenant = await eventually(auth_part_done, what="auth's own part deleted")
    assert parts_of(tenant) == {
        "activity": "pending",
        "auth": "deleted",
        "billing": "pending",
        "chat": "pending",
    }
    assert tenant["status"] == "deprovisioning"
    assert tenant["name"] == "Deleted tenant"
    async with client.parts.db.session() as session:
        assert await tenant_rows(session, tenant_id) == TOMBSTONE
    assert (
        await client.error("login", {"email": member.email, "password": client.password})
    ).status == 401
    kept = await client.login(elsewhere.email, client.password)
    assert client.principal(kept.data["access_token"]).subject == elsewhere.user_id

    now = datetime.now(UTC)
    await answer(
        broker,
        BillingTenantDataDeleted(tenant_id=tenant_id, deleted_at=now, rows_deleted=7),
        tenant_id,
        "evt_b",
    )
    chat = ChatTenantDataDeleted(tenant_id=tenant_id, deleted_at=now, rows_deleted=3)
    await answer(broker, chat, tenant_id, "evt_c")
    await answer(broker, chat, tenant_id, "evt_c")

    async def answered(services: set[str]) -> bool:
        tenant = await detail(client, operator, tenant_id)
        return {s for s, status in parts_of(tenant).items() if status == "deleted"} == services

    await eventually(
        lambda: answered({"auth", "billing", "chat"}), what="billing and chat recorded"
    )
    assert (await detail(client, operator, tenant_id))["status"] == "deprovisioning"

    activity = ActivityTenantDataDeleted(tenant_id=tenant_id, deleted_at=now, rows_deleted=2)
    await answer(broker, activity, tenant_id, "evt_a")

    async def deleted() -> dict[str, Any] | None:
        tenant = await detail(client, operator, tenant_id)
        return tenant if tenant["status"] == "deleted" else None

    gone = await eventually(deleted, what="the tenant deleted")
    assert gone["deleted_at"] is not None
    assert set(parts_of(gone).values()) == {"deleted"}
    assert await outbox_count(client, f"events.auth.{tenant_id}.tenant.deprovisioned") == 1


async def test_only_operators_deprovision_and_an_unknown_tenant_is_not_found(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    refused = await client.error(
        "platform.tenants.delete", {"tenant_id": owner.tenant_id}, token=owner.access_token
    )
    assert refused.status == 403
    operator = await client.operator_token()
    unknown = await client.error(
        "platform.tenants.delete", {"tenant_id": "t_nobody"}, token=operator
    )
    assert (unknown.status, unknown.code) == (404, "tenant_not_found")
