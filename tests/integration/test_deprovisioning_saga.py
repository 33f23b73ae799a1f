"""The deprovisioning saga across the services: an operator deprovisions a tenant while chat is
down; auth, billing and activity delete their parts, chat's part shows pending on the tenant's
page, and once chat is back its durable consumer catches up and the tenant is deleted, with
nothing of it left in any schema but auth's tombstone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import AuthClient
from faststream.nats import NatsBroker

from agentbus_activity.app import build as build_activity
from agentbus_activity.settings import ActivitySettings
from agentbus_auth.app import AuthParts
from agentbus_auth.app import build as build_auth
from agentbus_auth.settings import AuthSettings
from agentbus_billing.app import build as build_billing
from agentbus_billing.settings import BillingSettings
from agentbus_chat.app import build as build_chat
from agentbus_chat.settings import ChatSettings
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.platform import DATA_PARTS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.plugin import BusLogins
from agentbus_shared.testing.tenant_data import tenant_events, tenant_rows
from agentbus_shared.testing.waiting import eventually

pytestmark = pytest.mark.slow


def chat_runtime(bus_logins: BusLogins) -> ServiceRuntime:
    settings = ChatSettings(**bus_logins.settings("chat")).tuned(builtin_token_delay=0.0)
    return build_chat(settings, configure_process=False)


@pytest.fixture
async def services(
    service_env: dict[str, str], every_stream: None, bus_logins: BusLogins, tmp_path: Path
) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """Auth, billing, chat and activity running, each logged in as itself."""
    auth_settings = AuthSettings(mail_dir=str(tmp_path / "mail"), **bus_logins.settings("auth"))
    runtimes = {
        "auth": build_auth(
            auth_settings.tuned(argon2_time_cost=1, argon2_memory_kib=8 * 1024),
            configure_process=False,
        ),
        "billing": build_billing(
            BillingSettings(**bus_logins.settings("billing")).tuned(entitlements_sync_interval=0.5),
            configure_process=False,
        ),
        "chat": chat_runtime(bus_logins),
        "activity": build_activity(
            ActivitySettings(**bus_logins.settings("activity")), configure_process=False
        ),
    }
    for runtime in runtimes.values():
        await runtime.start()
    yield runtimes
    for runtime in reversed(runtimes.values()):
        await runtime.stop()


async def tenant_page(client: AuthClient, operator: str, tenant_id: str) -> dict[str, Any]:
    reply = await client.call("platform.tenants.get", {"tenant_id": tenant_id}, token=operator)
    return dict(reply.data)


def parts_of(tenant: dict[str, Any]) -> dict[str, str]:
    return {part["service"]: part["status"] for part in tenant["data_parts"]}


async def test_a_deprovision_completes_once_a_service_that_was_down_is_back(
    services: dict[str, ServiceRuntime],
    broker: NatsBroker,
    bus_logins: BusLogins,
    tmp_path: Path,
) -> None:
    auth = services["auth"]
    client = AuthClient(broker, auth, tmp_path / "mail")
    owner = await client.register_verified(tenant_name="Leaving")
    tenant_id = owner.tenant_id
    operator = await client.operator_token()
    chat = RpcClient(broker, timeout=30)
    reply = await eventually(
        lambda: chat.call(
            "chat",
            "chat",
            {"message": "Hello there"},
            principal=client.principal(owner.access_token),
        ),
        what="chat answering the tenant (its entitlements published)",
        ignoring=(Exception,),
    )
    assert reply.data["conversation_id"]

    async def held_everywhere() -> set[str]:
        async with auth.parts_as(AuthParts).db.session() as session:
            schemas = {t.split(".")[0] for t in await tenant_rows(session, tenant_id)}
        return schemas if schemas >= set(DATA_PARTS) else set()

    await eventually(held_everywhere, what="the tenant's data in every service")

    await services["chat"].stop()
    started = await client.call("platform.tenants.delete", {"tenant_id": tenant_id}, token=operator)
    assert started.status == 202

    async def all_but_chat() -> dict[str, Any] | None:
        page = await tenant_page(client, operator, tenant_id)
        done = {s for s, status in parts_of(page).items() if status == "deleted"}
        return page if done == set(DATA_PARTS) - {"chat"} else None

    page = await eventually(all_but_chat, what="every part but chat's deleted", timeout=30)
    assert (page["status"], parts_of(page)["chat"]) == ("deprovisioning", "pending")

    services["chat"] = chat_runtime(bus_logins)
    await services["chat"].start()

    async def deleted() -> dict[str, Any] | None:
        page = await tenant_page(client, operator, tenant_id)
        return page if page["status"] == "deleted" else None

    gone = await eventually(deleted, what="the tenant deleted once chat caught up", timeout=30)
    assert set(parts_of(gone).values()) == {"deleted"}
    async with auth.parts_as(AuthParts).db.session() as session:
        assert await tenant_rows(session, tenant_id) == {"auth.tenant_data_parts": len(DATA_PARTS)}
        assert await tenant_events(session, tenant_id) == {}
