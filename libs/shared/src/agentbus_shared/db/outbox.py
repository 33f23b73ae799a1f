"""Transactional outbox: events written with the change that caused them, relayed after commit.

``Outbox.emit`` inserts the event in the caller's transaction, so an event
exists if and only if its change committed. ``OutboxRelay`` claims unpublished
rows with ``FOR UPDATE SKIP LOCKED`` (several replicas share the work, no row
is taken twice at once), publishes each with ``Nats-Msg-Id`` = event id, and
marks them published in the same transaction. A crash between publish and
mark republishes the row later; JetStream drops that copy as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agentbus_shared.bus.events import EventPublisher
from agentbus_shared.cancellation import raise_if_cancelled
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.db.database import Database
from agentbus_shared.logging import get_logger
from agentbus_shared.metrics import OUTBOX_PENDING, OUTBOX_RELAYED
from agentbus_shared.telemetry import inject_trace_headers

log = get_logger(__name__)

_PENDING = "agentbus_outbox_pending"
CLOUDEVENTS_JSON = "application/cloudevents+json"


def outbox_table(metadata: MetaData) -> Table:
    """The ``outbox`` table in the metadata's schema (add it to the service's migrations)."""
    return Table(
        "outbox",
        metadata,
        Column("id", Text, primary_key=True, comment="event id, used as Nats-Msg-Id"),
        Column("subject", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index(
            "ix_outbox_unpublished",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
        ),
    )


class Outbox:
    """Writes events into the caller's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def emit(self, session: AsyncSession, event: CloudEvent[Any]) -> None:
        """Queue ``event``; it is published only if the session's transaction commits."""
        headers: dict[str, str] = {"content-type": CLOUDEVENTS_JSON}
        inject_trace_headers(headers)
        await session.execute(
            insert(self.table)
            .values(
                id=event.id, subject=event.nats_subject, payload=event.to_bytes(), headers=headers
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        session.info[_PENDING] = True


class OutboxRelay:
    """Publishes committed outbox rows. Run one per process; replicas share the rows."""

    def __init__(
        self,
        db: Database,
        table: Table,
        publisher: EventPublisher,
        *,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._db = db
        self._table = table
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention = retention
        self._wakeup = asyncio.Event()
        self._schema = table.schema or "public"
        event.listen(db.sync_session_class, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_PENDING, False):
            self._wakeup.set()

    def wake(self) -> None:
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish up to one batch of pending rows; return how many were published."""
        t = self._table
        published: list[str] = []
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(t.c.id, t.c.subject, t.c.payload, t.c.headers)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.created_at, t.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                try:
                    await self._publish(row.subject, row.payload, row.id, row.headers)
                except Exception as exc:
                    # Stop at the first failure to keep the rows of one transaction in order.
                    OUTBOX_RELAYED.labels(self._schema, "error").inc()
                    log.warning("outbox.publish_failed", event_id=row.id, error=type(exc).__name__)
                    await session.execute(
                        update(t)
                        .where(t.c.id == row.id)
                        .values(attempts=t.c.attempts + 1, last_error=str(exc)[:500])
                    )
                    break
                published.append(row.id)
            if published:
                await session.execute(
                    update(t).where(t.c.id.in_(published)).values(published_at=func.now())
                )
        if published:
            OUTBOX_RELAYED.labels(self._schema, "ok").inc(len(published))
        return len(published)

    async def _publish(
        self, subject: str, payload: bytes, event_id: str, headers: Mapping[str, str]
    ) -> None:
        await self._publisher.publish_raw(
            subject,
            payload,
            msg_id=event_id,
            headers=dict(headers),
            content_type=headers.get("content-type", CLOUDEVENTS_JSON),
        )

    async def pending(self) -> int:
        t = self._table
        async with self._db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(t).where(t.c.published_at.is_(None))
            )
        OUTBOX_PENDING.labels(self._schema).set(count or 0)
        return int(count or 0)

    async def purge_published(self) -> int:
        """Delete rows published longer ago than the retention."""
        t = self._table
        cutoff = datetime.now(UTC) - self._retention
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(t).where(t.c.published_at.is_not(None), t.c.published_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def run(self) -> None:
        """Relay until cancelled: at once after a local commit, else every ``poll_interval``."""
        failures = 0
        passes = 0
        while True:
            try:
                count = await self.relay_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelled()
                failures += 1
                log.warning("outbox.relay_failed", error=type(exc).__name__, failures=failures)
                count = 0
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
            passes += 1
            if passes % 600 == 0:
                with contextlib.suppress(Exception):
                    await self.pending()
                    await self.purge_published()
            if count >= self._batch_size:
                continue
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 a cancel that lands as the
            # timeout fires comes out of wait_for as TimeoutError, and the relay never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wakeup.wait()
            raise_if_cancelled()
