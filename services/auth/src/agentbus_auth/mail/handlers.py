"""The mailer's durable consumer of ``email.requested``."""

from __future__ import annotations

from sqlalchemy import select

from agentbus_auth.mail.service import Mailer
from agentbus_auth.models import processed_events
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.auth import EmailRequested
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.db import Database, record_once
from agentbus_shared.runtime import ServiceRuntime

MAIL_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-mailer",
    stream=AUTH_EVENTS,
    subject=EmailRequested.filter_subject(),
    retry=RetryPolicy(max_deliver=8, backoff=(1.0, 5.0, 15.0, 60.0, 300.0, 900.0)),
    max_workers=4,
)


def register_consumers(runtime: ServiceRuntime, db: Database, mailer: Mailer) -> None:
    @runtime.consumer(MAIL_CONSUMER)
    async def on_email_requested(event: CloudEvent[EmailRequested]) -> None:
        # Sending cannot join a transaction: mark after sending. A crash in between
        # sends the message again (at least once); the Message-ID lets mail clients dedupe.
        async with db.session() as session:
            sent = await session.scalar(
                select(processed_events.c.event_id).where(
                    processed_events.c.consumer == MAIL_CONSUMER.name,
                    processed_events.c.event_id == event.id,
                )
            )
        if sent is not None:
            return
        await mailer.deliver(event)
        async with db.transaction() as session:
            await record_once(
                session, processed_events, consumer=MAIL_CONSUMER.name, event_id=event.id
            )
