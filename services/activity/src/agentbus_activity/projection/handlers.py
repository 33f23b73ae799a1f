"""The live projection: one durable consumer on each service's event stream, feeding the feed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentbus_activity.settings import ActivitySettings
from agentbus_shared.bus import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.streams import AUTH_EVENTS, BILLING_EVENTS, CHAT_EVENTS
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_activity.app import ActivityParts


def feed_consumers(settings: ActivitySettings) -> tuple[DurableConsumer, ...]:
    """Every stream the feed is made from, each read whole by its own durable consumer."""
    workers = settings.tuning.projection_workers
    retry = RetryPolicy(max_deliver=6)
    pending = max(64, workers * 8)
    return (
        DurableConsumer(
            service="activity",
            name="activity-feed-auth",
            stream=AUTH_EVENTS,
            subject="events.auth.>",
            retry=retry,
            max_workers=workers,
            max_ack_pending=pending,
        ),
        DurableConsumer(
            service="activity",
            name="activity-feed-chat",
            stream=CHAT_EVENTS,
            subject="events.chat.>",
            retry=retry,
            max_workers=workers,
            max_ack_pending=pending,
        ),
        DurableConsumer(
            service="activity",
            name="activity-feed-billing",
            stream=BILLING_EVENTS,
            subject="events.billing.>",
            retry=retry,
            max_workers=workers,
            max_ack_pending=pending,
        ),
    )


def register(runtime: ServiceRuntime, parts: ActivityParts) -> None:
    for consumer in feed_consumers(parts.settings):

        @runtime.consumer(consumer)
        async def on_event(body: Any) -> None:
            await parts.projection.apply(body)
