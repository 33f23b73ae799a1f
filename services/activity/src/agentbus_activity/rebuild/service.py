"""Rebuild by replay: the feed (or one tenant's part of it) made again from the event streams.

While a rebuild runs, the live projection keeps serving and writes each new item to the feed
and to the rebuild's table alike. The replay reads each stream up to at least the last event
stored when it began; anything later reaches the rebuild's table through the live path, and
an item met twice is one item (its id is its event's). The swap then replaces the feed's items
in scope by the replayed ones in one transaction, holding off live writes for its length, so
no event is lost or doubled. Read and dismiss marks are keyed by item id and stay.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agentbus_activity.errors import RebuildRunning
from agentbus_activity.metrics import EVENTS_SKIPPED
from agentbus_activity.models import feed_items_rebuild, processed_events
from agentbus_activity.projection import repository as projection_items
from agentbus_activity.projection.service import FeedEvent, Projection
from agentbus_activity.rebuild import repository as rebuilds
from agentbus_activity.rebuild.replay import OpenReplay, StreamReplay
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.db import Database
from agentbus_shared.db.tenant_deletion import tenants_data_deleted
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class RebuildProgress(Protocol):
    def started(self, total: int) -> None:
        """The replay begins with about ``total`` events to read."""

    def advanced(self, count: int) -> None:
        """``count`` more events were read and applied."""


class _Silent:
    def started(self, total: int) -> None:
        pass

    def advanced(self, count: int) -> None:
        pass


@dataclass
class _Tally:
    """What one rebuild's replay has read: how many events, and the tenants being
    deprovisioned (their items must not come back)."""

    events: int = 0
    deprovisioned: set[str] = field(default_factory=set)
    kept_from: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    """The streams replayed keep every event from this time on; older items are not rebuilt."""

    def count(self, batch: list[dict[str, Any] | None]) -> None:
        self.events += len(batch)
        self.deprovisioned |= {
            str(raw.get("tenantid"))
            for raw in batch
            if raw is not None and raw.get("type") == _DEPROVISIONING
        }


_DEPROVISIONING = TenantDeprovisionRequested.cloud_type()


@dataclass(frozen=True)
class RebuildResult:
    replayed: int
    """Events read from the streams."""
    items: int
    """Feed items in the rebuilt scope after the swap."""


class FeedRebuild:
    def __init__(self, db: Database, projection: Projection, replay: StreamReplay) -> None:
        self._db = db
        self._projection = projection
        self._replay = replay

    async def run(
        self,
        *,
        tenant_id: str | None = None,
        since: datetime | None = None,
        take_over: bool = False,
        progress: RebuildProgress | None = None,
    ) -> RebuildResult:
        """Replay the streams into a fresh table and swap it in; :class:`RebuildRunning` when
        another rebuild runs (``take_over`` marks an interrupted one failed first)."""
        progress = progress or _Silent()
        rebuild_id = new_id("rbd")
        async with self._db.transaction() as session:
            if take_over:
                await rebuilds.abandon_running(session)
            if not await rebuilds.start(session, rebuild_id, tenant_id=tenant_id, since=since):
                raise RebuildRunning()
        log.info("rebuild.started", rebuild=rebuild_id, tenant=tenant_id, since=since)
        try:
            tally = await self._replay_streams(tenant_id, since, progress)
            async with self._db.transaction() as session:
                items = await rebuilds.swap(
                    session,
                    rebuild_id,
                    tenant_id=tenant_id,
                    since=since,
                    replayed=tally.events,
                    gone=tally.deprovisioned,
                    kept_from=tally.kept_from,
                )
        except BaseException:
            async with self._db.transaction() as session:
                await rebuilds.discard(session, rebuild_id)
            raise
        log.info("rebuild.done", rebuild=rebuild_id, replayed=tally.events, items=items)
        return RebuildResult(replayed=tally.events, items=items)

    async def _replay_streams(
        self, tenant_id: str | None, since: datetime | None, progress: RebuildProgress
    ) -> _Tally:
        opened = await self._replay.open(tenant_id=tenant_id, since=since)
        progress.started(sum(replay.pending for replay in opened))
        tally = _Tally()
        for replay in opened:
            await self._replay_stream(replay, progress, tally)
        tally.kept_from = max(replay.kept_from for replay in opened)
        return tally

    async def _replay_stream(
        self, replay: OpenReplay, progress: RebuildProgress, tally: _Tally
    ) -> None:
        """One stream's events into the rebuild table, the next batch fetched while the last
        one is written."""
        writing: asyncio.Task[int] | None = None
        try:
            async for batch in self._replay.batches(replay):
                if writing is not None:
                    progress.advanced(await writing)
                writing = asyncio.create_task(self._write(batch, tally))
            if writing is not None:
                progress.advanced(await writing)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()

    async def _write(self, batch: list[bytes], tally: _Tally) -> int:
        """The batch's items into the rebuild table, but those of tenants whose data was
        deleted (nor their people's names); how many events the batch had."""
        raws = [_decoded(data) for data in batch]
        tally.count(raws)
        events = [event for raw in raws if (event := self._readable(raw)) is not None]
        async with self._db.transaction() as session:
            tenants = {event.envelope.tenantid for event in events}
            deleted = await tenants_data_deleted(session, processed_events, tenants)
            kept = [event for event in events if event.envelope.tenantid not in deleted]
            items = await self._projection.items_of(session, kept)
            await projection_items.add_items(session, feed_items_rebuild, items)
        return len(batch)

    def _readable(self, raw: dict[str, Any] | None) -> FeedEvent | None:
        if raw is not None:
            with suppress(ValueError):  # a ValidationError is one
                return self._projection.readable(raw, path="rebuild")
        # No JSON, or no event of its kind: the live consumer dead-lettered it; a rebuild
        # leaves it out and goes on.
        EVENTS_SKIPPED.labels("undecodable", "invalid").inc()
        return None


def _decoded(data: bytes) -> dict[str, Any] | None:
    """The stored body as a JSON object; None when it is none."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    return raw if isinstance(raw, dict) else None
