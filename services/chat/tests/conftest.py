"""Fixtures of the chat tests: the service on real NATS and PostgreSQL, a stand-in billing on the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from chat_support import ChatClient, FakeBilling, Sql, principal, running
from faststream.nats import NatsBroker
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine

from agentbus_chat.settings import ChatSettings
from agentbus_shared.db import async_url
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.plugin import BusLogins


@pytest.fixture
async def billing(broker: NatsBroker) -> AsyncIterator[FakeBilling]:
    fake = FakeBilling()
    subscription = await broker.connection.subscribe(
        "rpc.billing.v1.>", queue="billing", cb=fake.handle
    )
    await broker.connection.flush()
    yield fake
    await subscription.unsubscribe()


@pytest.fixture
def settings(service_env: dict[str, str], every_stream: None) -> ChatSettings:
    return ChatSettings().tuned(builtin_token_delay=0.0, entitlements_ttl=0.0, lease_seconds=6.0)


@pytest.fixture(autouse=True)
def _logs_in_as_chat(monkeypatch: pytest.MonkeyPatch, bus_logins: BusLogins) -> None:
    """The service under test logs in to the bus as chat, with chat's permissions."""
    bus_logins.log_in_as(monkeypatch, "chat")


@pytest.fixture
async def chat_service(
    settings: ChatSettings, billing: FakeBilling
) -> AsyncIterator[ServiceRuntime]:
    async with running(settings) as runtime:
        yield runtime


@pytest.fixture
def client(broker: NatsBroker) -> ChatClient:
    return ChatClient(broker, principal())


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[Sql]:
    """Run a query against this test's database (to look behind the service)."""
    engine = create_async_engine(async_url(database_url))

    async def run(statement: str, **params: object) -> list[Row[Any]]:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    yield run
    await engine.dispose()
