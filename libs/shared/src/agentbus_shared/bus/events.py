"""Publishing to JetStream: every message with a ``Nats-Msg-Id``, acknowledged, retried.

A publish that times out may still have been stored (the server can persist
it and lose the ack during a restart), so a retry must carry the same
``Nats-Msg-Id``: JetStream drops it as a duplicate within the stream's window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import nats.errors
import nats.js.errors
from faststream.nats import NatsBroker
from nats.js.api import PubAck
from nats.js.client import JetStreamContext

from agentbus_shared.bus import headers as h
from agentbus_shared.cancellation import raise_if_cancelled
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.errors import ServiceUnavailable
from agentbus_shared.logging import get_logger
from agentbus_shared.metrics import EVENTS_PUBLISHED
from agentbus_shared.telemetry import inject_trace_headers

log = get_logger(__name__)

_RETRYABLE = (
    nats.errors.TimeoutError,
    TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,  # no stream captures the subject (yet)
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionClosedError,
    nats.errors.StaleConnectionError,
    # JetStream answers 503 while it recovers its streams after a restart (or has no
    # leader yet on a cluster): nothing was stored, the same Nats-Msg-Id may be sent again.
    nats.js.errors.ServiceUnavailableError,
)


class EventPublisher:
    """Durable publishing for one process. Raises ``ServiceUnavailable`` once retries are spent."""

    def __init__(
        self,
        broker: NatsBroker,
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        backoff: float = 0.25,
    ) -> None:
        self._broker = broker
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._js: JetStreamContext | None = None

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            self._js = self._broker.connection.jetstream(timeout=self._timeout)
        return self._js

    async def publish(self, event: CloudEvent[Any]) -> PubAck:
        """Publish a domain event on its subject with ``Nats-Msg-Id`` = event id."""
        return await self.publish_raw(
            event.nats_subject,
            event.to_bytes(),
            msg_id=event.id,
            content_type="application/cloudevents+json",
        )

    async def publish_raw(
        self,
        subject: str,
        payload: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        stream: str | None = None,
    ) -> PubAck:
        """Publish bytes to the stream that captures ``subject``; wait for its PubAck."""
        all_headers = {"content-type": content_type, **(headers or {}), h.MSG_ID: msg_id}
        inject_trace_headers(all_headers)
        last_error: Exception | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                ack = await self.js.publish(
                    subject, payload, timeout=self._timeout, stream=stream, headers=all_headers
                )
            except _RETRYABLE as exc:
                raise_if_cancelled()
                last_error = exc
                log.warning(
                    "publish.retry", subject=subject, attempt=attempt, error=type(exc).__name__
                )
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
                continue
            EVENTS_PUBLISHED.labels(ack.stream, str(bool(ack.duplicate)).lower()).inc()
            return ack
        raise ServiceUnavailable(
            "The event could not be stored on the bus.", retry_after=2, details={"subject": subject}
        ) from last_error
