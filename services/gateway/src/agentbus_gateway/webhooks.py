"""Stripe webhook intake: verify, make durable on the bus, then (only then) say 200.

The signature is checked with the stripe library against every configured
secret (several during a rotation, tolerance 300 s). The raw body is published
to ``stripe.webhooks.<type>`` in the ``STRIPE_WEBHOOKS`` stream with
``Nats-Msg-Id`` = the Stripe event id, so Stripe's retries are stored once;
the answer waits for JetStream's acknowledgement. A bad signature is 400 and
never published; a bus that does not acknowledge is 503, so Stripe retries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import stripe
from prometheus_client import Counter
from pydantic import BaseModel

from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.errors import BadRequest, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

WEBHOOKS = Counter(
    "agentbus_gateway_stripe_webhooks_total",
    "Stripe webhook deliveries, by outcome (stored, duplicate, bad_signature, bad_payload, unavailable).",
    ["outcome"],
)

_EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){0,8}$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")


class WebhookReceipt(BaseModel):
    received: bool = True
    duplicate: bool = False


class InvalidSignature(BadRequest):
    code = "invalid_signature"
    default_message = "The Stripe signature is missing or invalid."


class InvalidWebhookPayload(BadRequest):
    code = "invalid_payload"
    default_message = "The webhook payload is not a Stripe event."


class StripeIntake:
    def __init__(
        self, publisher: EventPublisher, secrets: Sequence[str], *, tolerance: int = 300
    ) -> None:
        self._publisher = publisher
        self._secrets = [s for s in secrets if s]
        self._tolerance = tolerance

    def verify(self, payload: bytes, signature: str | None) -> tuple[str, str]:
        """The Stripe event's (id, type) once a configured secret vouches for ``payload``."""
        if not signature or not self._secrets:
            WEBHOOKS.labels("bad_signature").inc()
            raise InvalidSignature()
        for secret in self._secrets:
            try:
                event = stripe.Webhook.construct_event(
                    payload, signature, secret, tolerance=self._tolerance
                )
            except stripe.SignatureVerificationError:
                continue
            except ValueError:  # signed, yet not JSON (or not UTF-8)
                WEBHOOKS.labels("bad_payload").inc()
                raise InvalidWebhookPayload() from None
            event_id, event_type = getattr(event, "id", None), getattr(event, "type", None)
            if not (
                isinstance(event_id, str)
                and _EVENT_ID.match(event_id)
                and isinstance(event_type, str)
                and _EVENT_TYPE.match(event_type)
            ):
                WEBHOOKS.labels("bad_payload").inc()
                raise InvalidWebhookPayload()
            return event_id, event_type
        WEBHOOKS.labels("bad_signature").inc()
        raise InvalidSignature()

    async def receive(self, payload: bytes, signature: str | None) -> WebhookReceipt:
        """Verify and store the event; raises 400 (bad signature/payload) or 503 (bus)."""
        event_id, event_type = self.verify(payload, signature)
        try:
            ack = await self._publisher.publish_raw(
                subjects.stripe_webhook(event_type),
                payload,
                msg_id=event_id,
                stream=STRIPE_WEBHOOKS.name,
            )
        except ServiceUnavailable:
            WEBHOOKS.labels("unavailable").inc()
            log.error("webhook.not_stored", event_id=event_id, event_type=event_type)
            raise
        duplicate = bool(ack.duplicate)
        WEBHOOKS.labels("duplicate" if duplicate else "stored").inc()
        log.info("webhook.stored", event_id=event_id, event_type=event_type, seq=ack.seq)
        return WebhookReceipt(duplicate=duplicate)
