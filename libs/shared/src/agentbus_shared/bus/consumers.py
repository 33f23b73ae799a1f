"""Durable JetStream consumers that never drop a failing message.

A handler that raises is redelivered after a growing delay (``nak`` with
delay), up to ``max_deliver`` deliveries; then the message is copied to
``dlq.<service>.<consumer>`` (stream ``DEAD_LETTERS``) with the error and its
origin, and terminated. ``PermanentFailure`` and undecodable payloads skip the
retries. Should a process die on the last delivery, the server's
max-deliveries advisory lands in ``DEAD_LETTERS`` too.

An outage of the service's own database or Redis is not the message's fault:
when a handler fails with a dependency-unavailable error and the service's
readiness agrees, the message is held (``+WPI`` keeps it from
redelivery) until the dependency answers again, then redelivered at once. A
long outage so costs each message one delivery instead of running through the
back-off into the dead letters, and the held workers pause the consumer.

Handlers must be idempotent (see :mod:`agentbus_shared.db.idempotency`): a
message can be delivered again after a crash between commit and ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import structlog
from faststream import AckPolicy, BaseMiddleware
from faststream.nats import ConsumerConfig, DeliverPolicy, NatsRouter, PullSub
from faststream.nats.message import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.client import JetStreamContext
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from agentbus_shared.bus import headers as h
from agentbus_shared.bus.events import EventPublisher
from agentbus_shared.bus.payloads import EVENT_MAX_DEPTH, UndecodablePayload, decode_json
from agentbus_shared.bus.streams import bind
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.streams import StreamSpec
from agentbus_shared.errors import PermanentFailure
from agentbus_shared.logging import get_logger
from agentbus_shared.metrics import EVENT_HANDLE_SECONDS, EVENTS_CONSUMED
from agentbus_shared.telemetry import extract_trace_context, tracer
from agentbus_shared.unavailable import is_dependency_unavailable

if TYPE_CHECKING:
    from faststream.message import StreamMessage

log = get_logger(__name__)

DependencyProbe = Callable[[], Awaitable[bool]]
"""True when the service's backing servers answer (the runtime's cached readiness: bounded,
never raises, one probe for all the process's held messages)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_deliver: int = 6
    backoff: tuple[float, ...] = (1.0, 5.0, 15.0, 60.0, 300.0)
    # Through a dependency outage: how often a held message asks whether it is over, and how
    # long a message is held at most before the back-off applies again.
    outage_poll: float = 2.0
    outage_hold: float = 3600.0

    def delay(self, delivered: int) -> float:
        """Delay before delivery number ``delivered + 1``."""
        return self.backoff[min(delivered, len(self.backoff)) - 1]


@dataclass(frozen=True)
class DurableConsumer:
    """One durable pull consumer of ``service`` on ``stream``, filtered to ``subject``."""

    service: str
    name: str
    stream: StreamSpec
    subject: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_workers: int = 4
    ack_wait: float = 60.0
    max_ack_pending: int = 1000
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL

    def config(self) -> ConsumerConfig:
        """Named as well as durable, so it is created on
        ``$JS.API.CONSUMER.CREATE.<stream>.<name>.<subject>``: the only form the bus permissions
        grant a consumer of another service's stream, which holds its reader to that filter."""
        return ConsumerConfig(
            name=self.name,
            durable_name=self.name,
            filter_subject=self.subject,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=self.retry.max_deliver,
            max_ack_pending=self.max_ack_pending,
            deliver_policy=self.deliver_policy,
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the consumer, or apply a changed config to the existing durable."""
        await js.add_consumer(self.stream.name, self.config())

    def router(
        self, publisher: Callable[[], EventPublisher], probe: DependencyProbe | None = None
    ) -> NatsRouter:
        """A router holding this consumer's retry/dead-letter middleware.

        ``publisher`` is called lazily to get the process's publisher (used for
        the dead-letter copy); ``probe`` tells whether the service's dependencies
        answer (without one, outages take the ordinary back-off).
        """
        return NatsRouter(middlewares=[_consumer_middleware(self, publisher, probe)])

    def subscriber(self, router: NatsRouter) -> Callable[[Callable[..., Any]], Any]:
        return router.subscriber(
            self.subject,
            stream=bind(self.stream),
            durable=self.name,
            config=self.config(),
            pull_sub=PullSub(batch_size=min(64, self.max_workers * 4), timeout=5.0),
            inbox_prefix=f"{subjects.inbox_prefix(self.service)}.".encode(),
            max_workers=self.max_workers,
            ack_policy=AckPolicy.MANUAL,
            decoder=decode_json_types,
            title=f"{self.service}.{self.name}",
        )


async def decode_json_types(msg: StreamMessage[Any]) -> Any:
    """Every event body as JSON, whatever its content type (CloudEvents travel as
    ``application/cloudevents+json``, Stripe's as they came). A body that is not JSON can never
    be processed: :class:`PermanentFailure`, dead-lettered at once instead of retried."""
    try:
        return decode_json(msg.body, max_depth=EVENT_MAX_DEPTH, allow_nul=True)
    except UndecodablePayload as exc:
        raise PermanentFailure(str(exc), code="undecodable_event") from None


def _consumer_middleware(
    consumer: DurableConsumer,
    publisher: Callable[[], EventPublisher],
    probe: DependencyProbe | None = None,
) -> type[BaseMiddleware]:
    class RetryThenDeadLetter(BaseMiddleware):
        async def consume_scope(
            self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
        ) -> Any:
            msg = cast(NatsMessage, msg)
            raw = msg.raw_message
            metadata = raw.metadata
            delivered = metadata.num_delivered
            started = time.perf_counter()
            with (
                structlog.contextvars.bound_contextvars(
                    consumer=consumer.name, stream_seq=metadata.sequence.stream, delivered=delivered
                ),
                tracer().start_as_current_span(
                    f"consume {consumer.name}",
                    context=extract_trace_context(msg.headers),
                    kind=SpanKind.CONSUMER,
                ),
            ):
                try:
                    result = await call_next(msg)
                except (PermanentFailure, ValidationError) as exc:
                    await _dead_letter(consumer, publisher(), msg, exc, delivered)
                    return None
                except Exception as exc:
                    if (
                        probe is not None
                        and is_dependency_unavailable(exc)
                        and await _held_through_outage(consumer, probe, msg, exc)
                    ):
                        EVENTS_CONSUMED.labels(consumer.name, "held").inc()
                        await msg.nack()  # the dependency is back: deliver it again now
                        return None
                    if delivered >= consumer.retry.max_deliver:
                        await _dead_letter(consumer, publisher(), msg, exc, delivered)
                    else:
                        delay = consumer.retry.delay(delivered)
                        log.warning(
                            "consume.retry", error=_describe(exc), delay=delay, exc_info=exc
                        )
                        EVENTS_CONSUMED.labels(consumer.name, "retry").inc()
                        await msg.nack(delay=delay)
                    return None
                else:
                    await msg.ack()
                    EVENTS_CONSUMED.labels(consumer.name, "ok").inc()
                    return result
                finally:
                    EVENT_HANDLE_SECONDS.labels(consumer.name).observe(
                        time.perf_counter() - started
                    )

    return RetryThenDeadLetter


async def _held_through_outage(
    consumer: DurableConsumer, probe: DependencyProbe, msg: NatsMessage, error: BaseException
) -> bool:
    """Hold ``msg`` while the probe says the service's dependencies are down; True once they
    answer again. False at once when they answer now (the failure is the handler's own: it
    takes the back-off) or when the outage outlasts ``outage_hold``."""
    retry = consumer.retry
    if await probe():
        return False
    log.warning("consume.holding_through_outage", error=_describe(error))
    progress_every = consumer.ack_wait / 3
    started = last_progress = time.monotonic()
    try:
        while time.monotonic() - started < retry.outage_hold:
            await asyncio.sleep(retry.outage_poll)
            if time.monotonic() - last_progress >= progress_every:
                await msg.in_progress()  # still ours: no redelivery to another worker
                last_progress = time.monotonic()
            if await probe():
                log.info("consume.outage_over", held=round(time.monotonic() - started, 1))
                return True
    except asyncio.CancelledError:
        # Stopping mid-outage: give the message back rather than leave it to the ack wait.
        with contextlib.suppress(Exception):  # else the server redelivers it after the ack wait
            await msg.nack()
        raise
    log.warning("consume.outage_outlasted_hold", held=round(time.monotonic() - started, 1))
    return False


async def _dead_letter(
    consumer: DurableConsumer,
    publisher: EventPublisher,
    msg: NatsMessage,
    error: BaseException,
    delivered: int,
) -> None:
    raw = msg.raw_message
    stream_seq = raw.metadata.sequence.stream
    dlq_headers = {key: value for key, value in (msg.headers or {}).items() if key != h.MSG_ID} | {
        h.DLQ_ERROR: _describe(error)[:1000],
        h.DLQ_STREAM: consumer.stream.name,
        h.DLQ_SEQUENCE: str(stream_seq),
        h.DLQ_SUBJECT: raw.subject,
        h.DLQ_CONSUMER: consumer.name,
        h.DLQ_DELIVERIES: str(delivered),
    }
    try:
        await publisher.publish_raw(
            subjects.dead_letter(consumer.service, consumer.name),
            raw.data,
            msg_id=f"{consumer.stream.name}.{stream_seq}.{consumer.name}",
            headers=dlq_headers,
        )
    except Exception:
        # Keep the message: without its dead-letter copy, terminating it would lose it.
        log.exception("consume.dead_letter_failed")
        await msg.nack(delay=consumer.retry.delay(len(consumer.retry.backoff)))
        return
    log.error("consume.dead_lettered", error=_describe(error))
    EVENTS_CONSUMED.labels(consumer.name, "dead_lettered").inc()
    await msg.reject()


def _describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return f"ValidationError: {error.error_count()} error(s) in the message payload"
    return f"{type(error).__name__}: {error}"
