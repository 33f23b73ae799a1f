"""The projection: every service's events become feed items, live and in a rebuild's batches.

An item's id is derived from its event's type and id, so applying an event twice (a
redelivery, a replay) finds the item there and changes nothing. Items are ordered by the
event's time, never by arrival, so events arriving out of order take their place. Events
the feed does not show are counted and skipped, never failed; so is every event of a tenant
whose data was deleted (deprovisioning), however late a consumer hears it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity.metrics import EVENTS_PROJECTED, EVENTS_SKIPPED
from agentbus_activity.models import feed_items, feed_items_rebuild, processed_events
from agentbus_activity.projection import kinds
from agentbus_activity.projection import repository as projection
from agentbus_activity.projection.batches import Batches
from agentbus_activity.projection.live import LiveFeed
from agentbus_activity.projection.repository import FeedItemRecord
from agentbus_activity.rebuild import repository as rebuilds
from agentbus_shared.contracts.auth import UserRegistered
from agentbus_shared.contracts.events import (
    TYPE_PREFIX,
    CloudEvent,
    EventData,
    EventRef,
    event_class,
    parse_event,
)
from agentbus_shared.contracts.subjects import SYSTEM_TENANT
from agentbus_shared.db import Database, after_commit
from agentbus_shared.db.tenant_deletion import tenants_data_deleted
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]


def item_id(event_type: str, event_id: str) -> str:
    """The feed item of an event: the same id however often the event arrives."""
    digest = hashlib.sha256(f"{event_type}\n{event_id}".encode()).hexdigest()
    return f"act_{digest[:32]}"


def kind_of(event_type: str) -> str:
    """``dev.agentbus.auth.member.changed`` → ``member.changed``."""
    return event_type.removeprefix(f"{TYPE_PREFIX}.").partition(".")[2] or event_type


@dataclass(frozen=True)
class FeedEvent:
    """An event the feed shows, decoded, with the describer of its kind."""

    envelope: CloudEvent[EventData]
    kind: str
    describe: kinds.Describer


class Projection:
    """Writes feed items from events; the live path also publishes each new item once committed."""

    def __init__(
        self,
        db: Database,
        live: LiveFeed,
        *,
        retention_days: int,
        clock: Clock = lambda: datetime.now(UTC),
        batch_limit: int = 64,
    ) -> None:
        self._db = db
        self._live = live
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._batches = Batches(self.apply_many, limit=batch_limit)

    def readable(self, raw: dict[str, Any], *, path: str) -> FeedEvent | None:
        """The event decoded when the feed shows its kind; None (counted) when it does not.

        Raises ``ValidationError`` for a body that is no event, or a known kind whose data does
        not match its contract (the consumer dead-letters it)."""
        event_type = raw.get("type") if isinstance(raw, dict) else None
        data_type = event_class(event_type) if isinstance(event_type, str) else None
        describe = kinds.describer(data_type) if data_type else None
        if data_type is None or describe is None:
            kind = kind_of(EventRef.model_validate(raw).type)  # a body that is no event raises
            # A kind the feed has not decided on yet (even one a contract declares) is unknown.
            reason = "not_in_feed" if data_type in kinds.NOT_IN_FEED else "unknown"
            EVENTS_SKIPPED.labels(kind, reason).inc()
            return None
        envelope = parse_event(raw, data_type)
        kind = kind_of(envelope.type)
        if not envelope.tenantid or envelope.tenantid == SYSTEM_TENANT:
            EVENTS_SKIPPED.labels(kind, "no_tenant").inc()
            return None
        if envelope.time < self.cutoff():
            EVENTS_SKIPPED.labels(kind, "expired").inc()
            return None
        EVENTS_PROJECTED.labels(kind, path).inc()
        return FeedEvent(envelope, kind, describe)

    def cutoff(self) -> datetime:
        """Items of events older than this are past the retention."""
        return self._clock() - self._retention

    async def apply(self, raw: dict[str, Any]) -> None:
        """One event from a live consumer: its item in the feed (and in a running rebuild's
        table), published on the live feed once committed if it is new. Events applied at the
        same time share a transaction (``Batches``); each caller still gets its own outcome."""
        event = self.readable(raw, path="live")
        if event is not None:
            await self._batches.submit(event)

    async def apply_many(self, events: Sequence[FeedEvent]) -> None:
        """Live events' items in one transaction: the feed, a running rebuild's table, and each
        new item published once committed."""
        async with self._db.transaction() as session:
            tenants = {event.envelope.tenantid for event in events}
            deleted = await tenants_data_deleted(session, processed_events, tenants)
            kept = [event for event in events if event.envelope.tenantid not in deleted]
            for event in events:
                if event.envelope.tenantid in deleted:
                    EVENTS_SKIPPED.labels(event.kind, "tenant_deleted").inc()
            items = _distinct(await self.items_of(session, kept))
            # The feed first: its lock is what a rebuild's swap waits for (rebuild/service.py).
            added = await projection.insert_items(session, feed_items, items)
            collected = await rebuilds.collecting(session, {item.tenant_id for item in items})
            await projection.insert_items(
                session, feed_items_rebuild, [item for item in items if item.tenant_id in collected]
            )
            new = [item for item in items if item.id in added]
            labels = await projection.labels_by_tenant(
                session, ((item.tenant_id, user) for item in new for user in item.mentioned())
            )
            for item in new:
                view = item.view(labels.get(item.tenant_id, {}))
                after_commit(session, self._live.announcer(item, view))

    async def items_of(
        self, session: AsyncSession, events: Sequence[FeedEvent]
    ) -> list[FeedItemRecord]:
        """The items of ``events``; the names ``user.registered`` gives are remembered."""
        for event in events:
            data = event.envelope.data
            if isinstance(data, UserRegistered):
                label = data.display_name or data.email
                await projection.remember_people(
                    session, event.envelope.tenantid, [(data.user_id, label)]
                )
        return [_item(event) for event in events]


def _distinct(items: Sequence[FeedItemRecord]) -> list[FeedItemRecord]:
    """``items`` without repeats (one event delivered twice at once), first kept."""
    first: dict[str, FeedItemRecord] = {}
    for item in items:
        first.setdefault(item.id, item)
    return list(first.values())


def _item(event: FeedEvent) -> FeedItemRecord:
    envelope = event.envelope
    entry = event.describe(envelope.data, kinds.Names())
    subject = entry.subject
    return FeedItemRecord(
        id=item_id(envelope.type, envelope.id),
        tenant_id=envelope.tenantid,
        kind=event.kind,
        summary=entry.summary,
        occurred_at=envelope.time,
        audience=entry.audience,
        actor_id=entry.actor_id,
        subject_type=subject.type if subject else None,
        subject_id=subject.id if subject else None,
        subject_label=subject.label if subject else None,
        subject_href=subject.href if subject else None,
        concerns_user_id=entry.concerns_user_id,
    )
