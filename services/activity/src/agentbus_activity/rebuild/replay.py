"""Reading every service's event stream again, from its start or a time, for a rebuild.

Each stream is read by a durable consumer of its own (the bus lets a service create a consumer
on another's stream only under a name and filter its source declares). A service may not
delete consumers on others' streams, so each replay consumer is created to expire once idle
(``inactive_threshold``): a new replay first waits for the previous one's to be gone, then
creates it afresh at the position it asks for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError

from agentbus_shared.bus import DurableConsumer
from agentbus_shared.contracts.streams import AUTH_EVENTS, BILLING_EVENTS, CHAT_EVENTS

REPLAY_CONSUMERS: tuple[DurableConsumer, ...] = (
    DurableConsumer(
        service="activity",
        name="activity-replay-auth",
        stream=AUTH_EVENTS,
        subject="events.auth.>",
    ),
    DurableConsumer(
        service="activity",
        name="activity-replay-chat",
        stream=CHAT_EVENTS,
        subject="events.chat.>",
    ),
    DurableConsumer(
        service="activity",
        name="activity-replay-billing",
        stream=BILLING_EVENTS,
        subject="events.billing.>",
    ),
)
"""Declared here, never started by the service: ``agentbus activity rebuild`` creates them."""


SINCE_MARGIN = timedelta(minutes=5)
"""How long before ``since`` a replay opens: ``since`` speaks of when events happened, the
stream's position of when they were stored, and the two clocks differ a little."""

_UNANSWERED_PULLS = 50
"""How many pulls in a row a new replay consumer may leave unanswered before the replay fails."""


@dataclass
class OpenReplay:
    """One stream's replay consumer, created, with the events it has to deliver and the time
    from which the stream still keeps every event (older ones it may have dropped)."""

    consumer: DurableConsumer
    pending: int
    kept_from: datetime
    from_start: bool


class StreamReplay:
    """Reads the event streams again for a rebuild."""

    def __init__(
        self, js: Callable[[], JetStreamContext], *, batch: int, idle_expiry: float
    ) -> None:
        self._js = js
        self._batch = batch
        self._idle_expiry = idle_expiry

    async def open(self, *, tenant_id: str | None, since: datetime | None) -> list[OpenReplay]:
        """Create every stream's replay consumer at ``since`` (or the start), narrowed to
        ``tenant_id``'s events when given; what each has to deliver."""
        opened = []
        for consumer in REPLAY_CONSUMERS:
            await self._wait_until_gone(consumer)
            info = await self._js().add_consumer(
                consumer.stream.name, self._config(consumer, tenant_id, since)
            )
            kept_from = datetime.now(UTC) - timedelta(seconds=consumer.stream.max_age)
            opened.append(OpenReplay(consumer, info.num_pending or 0, kept_from, since is None))
        return opened

    async def batches(self, replay: OpenReplay) -> AsyncIterator[list[bytes]]:
        """The stream's events in stream order, a batch at a time: those stored when the replay
        was opened (later ones reach the rebuild through the live projection), so a busy
        stream cannot keep a rebuild from ending. Each body as stored: a rebuild decodes it."""
        remaining = replay.pending
        if remaining == 0:
            return
        name, stream = replay.consumer.name, replay.consumer.stream.name
        subscription = await self._js().pull_subscribe_bind(durable=name, stream=stream)
        unanswered = 0
        try:
            while remaining > 0:
                try:
                    messages = await subscription.fetch(min(self._batch, remaining), timeout=5.0)
                except ServiceUnavailableError:
                    unanswered += 1
                    if unanswered >= _UNANSWERED_PULLS:
                        raise
                    await asyncio.sleep(0.1)  # the new consumer does not answer pulls yet
                    continue
                if remaining == replay.pending and messages:
                    _note_first(replay, messages[0].metadata)
                remaining -= len(messages)
                yield [message.data for message in messages]
        finally:
            await subscription.unsubscribe()

    def _config(
        self, consumer: DurableConsumer, tenant_id: str | None, since: datetime | None
    ) -> ConsumerConfig:
        subject = consumer.subject
        if tenant_id is not None:  # events.<service>.<tenant>.>: narrower than the declared filter
            subject = subject.removesuffix(">") + f"{tenant_id}.>"
        position: dict[str, Any] = {"deliver_policy": DeliverPolicy.ALL}
        if since is not None:
            position = {
                "deliver_policy": DeliverPolicy.BY_START_TIME,
                "opt_start_time": (since - SINCE_MARGIN).astimezone(UTC),
            }
        return ConsumerConfig(
            name=consumer.name,
            durable_name=consumer.name,
            filter_subject=subject,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=self._idle_expiry,
            **position,
        )

    async def _wait_until_gone(self, consumer: DurableConsumer) -> None:
        """An earlier replay's consumer expires ``idle_expiry`` seconds after its last read."""
        deadline = time.monotonic() + self._idle_expiry * 2 + 5
        while time.monotonic() < deadline:
            try:
                await self._js().consumer_info(consumer.stream.name, consumer.name)
            except NotFoundError:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(
            f"the replay consumer {consumer.name} of an earlier rebuild is still there"
        )


def _note_first(replay: OpenReplay, metadata: Msg.Metadata) -> None:
    """A replay from the start whose first event is not the stream's first: the stream dropped
    the earlier ones, so it keeps every event only from this one's storage time on."""
    if replay.from_start and metadata.sequence.stream > 1:
        replay.kept_from = max(replay.kept_from, metadata.timestamp)
