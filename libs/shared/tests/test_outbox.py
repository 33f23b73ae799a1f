"""The transactional outbox against real PostgreSQL and nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import Column, Table, Text, func, insert, select, text

from agentbus_shared.bus import EventPublisher, apply_streams
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.streams import AUTH_EVENTS, STREAMS
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.db import (
    Database,
    Outbox,
    OutboxRelay,
    after_commit,
    outbox_table,
    schema_metadata,
)
from agentbus_shared.testing.waiting import eventually

metadata = schema_metadata("outbox_test")
outbox = outbox_table(metadata)
tenants = Table("tenants", metadata, Column("id", Text, primary_key=True))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, schema="outbox_test", application_name="test")
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA outbox_test"))
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
async def publisher(broker: NatsBroker) -> EventPublisher:
    await apply_streams(broker.connection.jetstream(), STREAMS)
    return EventPublisher(broker)


def tenant_created(tenant_id: str) -> object:
    return make_event(
        TenantCreated(
            tenant_id=tenant_id, name="Acme", owner_user_id="u_1", created_at=datetime.now(UTC)
        ),
        tenant_id=tenant_id,
    )


async def stream_count(broker: NatsBroker) -> int:
    info = await broker.connection.jetstream().stream_info(AUTH_EVENTS.name)
    return int(info.state.messages)


async def test_rolled_back_transaction_publishes_nothing(
    db: Database, publisher: EventPublisher, broker: NatsBroker
) -> None:
    box = Outbox(outbox)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await session.execute(insert(tenants).values(id="t_1"))
            await box.emit(session, tenant_created("t_1"))  # type: ignore[arg-type]
            raise RuntimeError("the change failed")
    relay = OutboxRelay(db, outbox, publisher)
    assert await relay.relay_once() == 0
    assert await stream_count(broker) == 0


async def test_committed_event_is_published_exactly_once(
    db: Database, publisher: EventPublisher, broker: NatsBroker
) -> None:
    box = Outbox(outbox)
    async with db.transaction() as session:
        await session.execute(insert(tenants).values(id="t_1"))
        await box.emit(session, tenant_created("t_1"))  # type: ignore[arg-type]
    relay = OutboxRelay(db, outbox, publisher)
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    assert await stream_count(broker) == 1
    assert await relay.pending() == 0


class CrashAfterPublish(OutboxRelay):
    """A relay whose process dies right after JetStream acked, before the mark commits."""

    async def _publish(self, *args: object, **kwargs: object) -> None:
        await super()._publish(*args, **kwargs)  # type: ignore[arg-type]
        raise asyncio.CancelledError


async def test_relay_restarted_between_publish_and_mark_publishes_once(
    db: Database, publisher: EventPublisher, broker: NatsBroker
) -> None:
    async with db.transaction() as session:
        await Outbox(outbox).emit(session, tenant_created("t_1"))  # type: ignore[arg-type]
    with pytest.raises(asyncio.CancelledError):
        await CrashAfterPublish(db, outbox, publisher).relay_once()
    assert await stream_count(broker) == 1
    async with db.session() as session:
        assert (
            await session.scalar(select(func.count()).where(outbox.c.published_at.is_(None))) == 1
        )
    # A fresh relay (the restarted process) publishes the row again: JetStream drops the copy.
    assert await OutboxRelay(db, outbox, publisher).relay_once() == 1
    assert await stream_count(broker) == 1


async def test_replicas_never_take_the_same_row(
    db: Database, publisher: EventPublisher, broker: NatsBroker
) -> None:
    async with db.transaction() as session:
        for i in range(200):
            await Outbox(outbox).emit(session, tenant_created(f"t_{i}"))  # type: ignore[arg-type]
    relays = [OutboxRelay(db, outbox, publisher, batch_size=20) for _ in range(4)]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while (count := await relay.relay_once()) > 0:
            total += count
        return total

    counts = await asyncio.gather(*(drain(r) for r in relays))
    assert sum(counts) == 200
    assert await stream_count(broker) == 200


async def test_relay_wakes_up_right_after_a_commit(
    db: Database, publisher: EventPublisher, broker: NatsBroker
) -> None:
    relay = OutboxRelay(db, outbox, publisher, poll_interval=30.0)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)
        async with db.transaction() as session:
            await Outbox(outbox).emit(session, tenant_created("t_1"))  # type: ignore[arg-type]

        async def published() -> bool:
            return await stream_count(broker) == 1

        await eventually(published, what="relayed long before the 30 s poll", timeout=2.5)
    finally:
        task.cancel()


async def test_relay_keeps_rows_while_the_bus_is_down(
    db: Database, broker: NatsBroker, nats_server: object
) -> None:
    await apply_streams(broker.connection.jetstream(), STREAMS)
    publisher = EventPublisher(broker, timeout=0.3, attempts=1)
    async with db.transaction() as session:
        await Outbox(outbox).emit(session, tenant_created("t_1"))  # type: ignore[arg-type]
    nats_server.stop()  # type: ignore[attr-defined]
    relay = OutboxRelay(db, outbox, publisher)
    assert await relay.relay_once() == 0
    async with db.session() as session:
        row = (await session.execute(select(outbox.c.attempts, outbox.c.last_error))).one()
    assert row.attempts == 1
    assert row.last_error


async def test_after_commit_callbacks_run_once_after_the_commit_and_never_after_a_rollback(
    db: Database,
) -> None:
    seen: list[str] = []

    async def committed() -> None:
        seen.append("committed")

    async def broken() -> None:
        raise RuntimeError("the callback fails; the commit stands")

    async with db.transaction() as session:
        after_commit(session, committed)
        after_commit(session, committed)
        after_commit(session, broken)
        assert seen == []
    assert seen == ["committed"]

    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            after_commit(session, committed)
            raise RuntimeError("rolled back")
    assert seen == ["committed"]
