"""Deprovisioning a tenant: chat deletes its conversations, messages, runs and agent memory,
answers ``tenant.data_deleted`` once, and leaves other tenants alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from chat_support import ChatClient, Sql, principal
from faststream.nats import NatsBroker

from agentbus_chat.app import ChatParts
from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.errors import Forbidden
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.tenant_data import tenant_events, tenant_rows
from agentbus_shared.testing.waiting import eventually


async def chat_rows(chat_service: ServiceRuntime, tenant_id: str) -> dict[str, int]:
    """The tenant's rows in chat's tables and its events chat's outbox keeps."""
    async with chat_service.parts_as(ChatParts).db.session() as session:
        rows = await tenant_rows(session, tenant_id) | await tenant_events(session, tenant_id)
    return {table: n for table, n in rows.items() if table.startswith("chat.")}


async def request_deprovision(broker: NatsBroker, tenant_id: str) -> None:
    requested = TenantDeprovisionRequested(
        tenant_id=tenant_id, requested_by="u_operator", requested_at=datetime.now(UTC)
    )
    await EventPublisher(broker).publish(make_event(requested, tenant_id=tenant_id))


async def test_deprovision_deletes_every_chat_row_of_the_tenant_and_answers_once(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker, sql: Sql
) -> None:
    opening = await client.chat("Remember that my dog is called Rex.")
    await client.chat("What is my dog called?", conversation_id=opening["conversation_id"])
    other = ChatClient(broker, principal(tenant="t_beta", user="u_bea"))
    await other.chat("Hello from another tenant.")

    async def all_published() -> bool:
        unsent = await sql("SELECT count(*) AS n FROM chat.outbox WHERE published_at IS NULL")
        return int(unsent[0].n) == 0

    await eventually(all_published, what="chat's events published")
    assert set(await chat_rows(chat_service, "t_alpha")) >= {
        "chat.conversations",
        "chat.runs",
        "chat.outbox",
    }
    kept = await chat_rows(chat_service, "t_beta")

    await request_deprovision(broker, "t_alpha")
    await request_deprovision(broker, "t_alpha")

    async def answers() -> list[int]:
        rows = await sql(
            "SELECT payload FROM chat.outbox WHERE subject = 'events.chat.t_alpha.tenant.data_deleted'"
        )
        return [json.loads(row.payload)["data"]["rows_deleted"] for row in rows]

    async def both_consumed() -> bool:
        done = await sql(
            "SELECT count(*) AS n FROM chat.processed_events "
            "WHERE consumer = 'chat-tenant-deprovision'"
        )
        return int(done[0].n) == 2

    await eventually(both_consumed, what="both requests consumed")
    answered = await answers()
    assert len(answered) == 1
    assert answered[0] > 0
    assert await chat_rows(chat_service, "t_alpha") == {}
    assert await chat_rows(chat_service, "t_beta") == kept


async def test_a_run_admitted_as_the_tenant_was_deleted_records_nothing(
    chat_service: ServiceRuntime, broker: NatsBroker, sql: Sql
) -> None:
    await request_deprovision(broker, "t_gone")

    async def answered() -> bool:
        rows = await sql("SELECT id FROM chat.outbox WHERE subject LIKE 'events.chat.t_gone.%'")
        return bool(rows)

    await eventually(answered, what="chat answered")
    late = ChatClient(broker, principal(tenant="t_gone", user="u_late"))
    with pytest.raises(Forbidden) as refused:
        await late.chat("Anyone there?")
    assert refused.value.code == "tenant_suspended"
    assert await chat_rows(chat_service, "t_gone") == {}
