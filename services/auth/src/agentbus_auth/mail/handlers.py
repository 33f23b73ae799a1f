"""The mailer's durable consumer of ``email.requested``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.auth import EmailRequested
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts

MAIL_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-mailer",
    stream=AUTH_EVENTS,
    subject=EmailRequested.filter_subject(),
    retry=RetryPolicy(max_deliver=8, backoff=(1.0, 5.0, 15.0, 60.0, 300.0, 900.0)),
    max_workers=4,
)


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    @runtime.consumer(MAIL_CONSUMER)
    async def on_email_requested(event: CloudEvent[EmailRequested]) -> None:
        await parts.mailer.deliver(event, consumer=MAIL_CONSUMER.name)
