"""Fixtures of the activity tests: the service on real NATS and PostgreSQL, fed by events
published to the real streams as the other services publish them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from activity_support import RunningActivity, make_settings, running
from faststream.nats import NatsBroker
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine

from agentbus_shared.bus import EventPublisher
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.db import async_url
from agentbus_shared.testing.plugin import BusLogins


@pytest.fixture(autouse=True)
def _logs_in_as_activity(monkeypatch: pytest.MonkeyPatch, bus_logins: BusLogins) -> None:
    """The service under test logs in to the bus as activity, with activity's permissions."""
    bus_logins.log_in_as(monkeypatch, "activity")


@pytest.fixture
async def streams(nats_url: str) -> None:
    """Every stream and bucket, as ``agentbus streams apply`` (and the dev stack) creates them."""
    nc = await nats.connect(nats_url)
    try:
        await apply_streams(nc.jetstream(), STREAMS)
        await apply_buckets(nc.jetstream(), BUCKETS)
    finally:
        await nc.close()


@pytest.fixture
async def activity(
    service_env: dict[str, str], streams: None, broker: NatsBroker
) -> AsyncIterator[RunningActivity]:
    async with running(make_settings()) as runtime:
        await broker.connection.flush()
        yield RunningActivity(runtime, broker, EventPublisher(broker))


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[Any]:
    """Run a query against this test's database (to look behind the service)."""
    engine = create_async_engine(async_url(database_url))

    async def run(statement: str, **params: object) -> list[Row[Any]]:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    yield run
    await engine.dispose()
