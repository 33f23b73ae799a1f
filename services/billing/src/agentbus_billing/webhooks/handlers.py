"""The durable consumer of STRIPE_WEBHOOKS and the operator's event operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentbus_billing.settings import BillingSettings
from agentbus_shared.bus import DurableConsumer, IncomingMessage, Reply, RetryPolicy
from agentbus_shared.contracts.billing import (
    Operation,
    ReplayCommand,
    ReplayResult,
    StripeEventsQuery,
    StripeEventView,
)
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.errors import ValidationFailed
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts

OPERATORS = {Scope.PLATFORM_OPERATE}


def stripe_consumer(settings: BillingSettings) -> DurableConsumer:
    tuning = settings.tuning
    return DurableConsumer(
        service="billing",
        name="stripe-webhooks",
        stream=STRIPE_WEBHOOKS,
        subject="stripe.webhooks.>",
        retry=RetryPolicy(max_deliver=tuning.webhook_max_deliver, backoff=tuning.backoff()),
        max_workers=tuning.webhook_workers,
        ack_wait=tuning.webhook_ack_wait,
        max_ack_pending=max(64, tuning.webhook_workers * 8),
    )


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    consumer = stripe_consumer(parts.settings)

    @runtime.consumer(consumer)
    async def on_stripe_event(body: Any, msg: IncomingMessage) -> None:
        metadata = msg.raw_message.metadata
        await parts.webhooks.process(
            body,
            stream_seq=metadata.sequence.stream,
            dead_letter_on_failure=metadata.num_delivered >= consumer.retry.max_deliver,
        )

    @runtime.rpc_router.operation(
        Operation.EVENTS_LIST,
        scopes=OPERATORS,
        description="Stored Stripe events with processing status (operator).",
    )
    async def events_list(query: StripeEventsQuery) -> Page[StripeEventView]:
        items, cursor = await parts.webhooks.page(
            status=query.status, event_type=query.type, limit=query.limit, cursor=query.cursor
        )
        return Page[StripeEventView](items=items, next_cursor=cursor)

    @runtime.rpc_router.operation(
        Operation.EVENTS_REPLAY,
        scopes=OPERATORS,
        max_workers=2,
        description="Re-apply Stripe events from the stream (operator).",
    )
    async def events_replay(cmd: ReplayCommand) -> Reply[ReplayResult]:
        if cmd.since is not None and cmd.from_seq is not None:
            raise ValidationFailed("Give either since or from_seq, not both.")
        return Reply(await parts.replayer.replay(cmd), status=202)
