"""The durable consumer of STRIPE_WEBHOOKS and the operator's event operations."""

from __future__ import annotations

from typing import Any

from agentbus_billing.container import Billing
from agentbus_shared.bus import (
    CallerPrincipal,
    DurableConsumer,
    IncomingMessage,
    Reply,
    RetryPolicy,
)
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


def stripe_consumer(billing: Billing) -> DurableConsumer:
    settings = billing.settings
    return DurableConsumer(
        service="billing",
        name="stripe-webhooks",
        stream=STRIPE_WEBHOOKS,
        subject="stripe.webhooks.>",
        retry=RetryPolicy(max_deliver=settings.webhook_max_deliver, backoff=settings.backoff()),
        max_workers=settings.webhook_workers,
        ack_wait=settings.webhook_ack_wait,
        max_ack_pending=max(64, settings.webhook_workers * 8),
    )


def register(runtime: ServiceRuntime, billing: Billing) -> None:
    consumer = stripe_consumer(billing)

    @runtime.consumer(consumer)
    async def on_stripe_event(body: Any, msg: IncomingMessage) -> None:
        metadata = msg.raw_message.metadata
        await billing.webhooks.process(
            body,
            stream_seq=metadata.sequence.stream,
            dead_letter_on_failure=metadata.num_delivered >= consumer.retry.max_deliver,
        )

    @runtime.rpc_router.operation(
        Operation.EVENTS_LIST, description="Stored Stripe events with processing status (operator)."
    )
    async def events_list(
        query: StripeEventsQuery, principal: CallerPrincipal
    ) -> Page[StripeEventView]:
        principal.require(Scope.PLATFORM_OPERATE)
        items, cursor = await billing.webhooks.page(
            status=query.status, event_type=query.type, limit=query.limit, cursor=query.cursor
        )
        return Page[StripeEventView](items=items, next_cursor=cursor)

    @runtime.rpc_router.operation(
        Operation.EVENTS_REPLAY,
        max_workers=2,
        description="Re-apply Stripe events from the stream (operator).",
    )
    async def events_replay(cmd: ReplayCommand, principal: CallerPrincipal) -> Reply[ReplayResult]:
        principal.require(Scope.PLATFORM_OPERATE)
        if cmd.since is not None and cmd.from_seq is not None:
            raise ValidationFailed("Give either since or from_seq, not both.")
        return Reply(await billing.replayer.replay(cmd), status=202)
