"""JetStream behaviour against a real nats-server: dedup, idempotent apply, retry then dead-letter."""

from __future__ import annotations

import asyncio
import errno
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg

from agentbus_shared.bus import DurableConsumer, EventPublisher, RetryPolicy, apply_streams
from agentbus_shared.bus import headers as h
from agentbus_shared.bus.streams import apply_buckets
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.events import CloudEvent, make_event, parse_event
from agentbus_shared.contracts.streams import BUCKETS, CHAT_EVENTS, DEAD_LETTERS, STREAMS
from agentbus_shared.errors import PermanentFailure, ServiceUnavailable
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.settings import ServiceSettings


def usage_event(run_id: str = "run_1") -> CloudEvent[UsageRecorded]:
    data = UsageRecorded(
        run_id=run_id,
        tenant_id="t_1",
        user_id="u_1",
        conversation_id="c_1",
        model="builtin",
        agent="triage",
        input_tokens=10,
        output_tokens=20,
        recorded_at=datetime.now(UTC),
    )
    return make_event(data, tenant_id="t_1", event_id=run_id)  # type: ignore[return-value]


@pytest.fixture
async def js_broker(broker: NatsBroker) -> NatsBroker:
    await apply_streams(broker.connection.jetstream(), STREAMS)
    return broker


async def test_same_msg_id_is_stored_once(js_broker: NatsBroker) -> None:
    publisher = EventPublisher(js_broker)
    event = usage_event()
    first = await publisher.publish(event)
    second = await publisher.publish(event)
    assert not first.duplicate
    assert second.duplicate
    info = await js_broker.connection.jetstream().stream_info(CHAT_EVENTS.name)
    assert info.state.messages == 1


async def test_publish_without_a_stream_is_service_unavailable(broker: NatsBroker) -> None:
    publisher = EventPublisher(broker, timeout=0.5, attempts=2, backoff=0.01)
    with pytest.raises(ServiceUnavailable):
        await publisher.publish_raw("stripe.webhooks.invoice.paid", b"{}", msg_id="evt_1")


async def test_jetstream_recovering_after_a_restart_is_waited_out(broker: NatsBroker) -> None:
    # Right after a restart JetStream answers a publish with a 503 API error until it has
    # recovered its streams; the publisher tries again with the same Nats-Msg-Id.
    answers = [
        b'{"error":{"code":503,"err_code":10008,"description":"JetStream system temporarily unavailable"}}',
        b'{"stream":"STRIPE_WEBHOOKS","seq":7}',
    ]
    msg_ids: list[str] = []

    async def jetstream_recovering(msg: Msg) -> None:
        msg_ids.append((msg.headers or {}).get(h.MSG_ID, ""))
        await msg.respond(answers.pop(0))

    subscription = await broker.connection.subscribe(
        "stripe.webhooks.invoice.paid", cb=jetstream_recovering
    )
    try:
        publisher = EventPublisher(broker, timeout=1, attempts=3, backoff=0.01)
        ack = await publisher.publish_raw("stripe.webhooks.invoice.paid", b"{}", msg_id="evt_1")
    finally:
        await subscription.unsubscribe()
    assert (ack.stream, ack.seq) == ("STRIPE_WEBHOOKS", 7)
    assert msg_ids == ["evt_1", "evt_1"]


async def test_event_lands_on_its_subject_as_a_cloudevent(js_broker: NatsBroker) -> None:
    event = usage_event()
    ack = await EventPublisher(js_broker).publish(event)
    stored = await js_broker.connection.jetstream().get_msg(CHAT_EVENTS.name, ack.seq)
    assert stored.subject == "events.chat.t_1.usage.recorded"
    assert stored.headers and stored.headers[h.MSG_ID] == event.id
    parsed = parse_event(stored.data or b"", UsageRecorded)
    assert parsed.data == event.data
    assert parsed.type == "dev.agentbus.chat.usage.recorded"


async def test_apply_is_idempotent_and_repairs_drift(broker: NatsBroker) -> None:
    js = broker.connection.jetstream()
    first = await apply_streams(js, STREAMS)
    assert {a.change for a in first} == {"created"}
    again = await apply_streams(js, STREAMS)
    assert {a.change for a in again} == {"unchanged"}
    # Someone shortened the retention: the owner's apply puts it back.
    drifted = replace(CHAT_EVENTS, max_age=2 * 86400.0).config()
    await js.update_stream(drifted)
    repaired = await apply_streams(js, (CHAT_EVENTS,))
    assert repaired[0].change == "updated"
    assert (await js.stream_info(CHAT_EVENTS.name)).config.max_age == CHAT_EVENTS.max_age
    assert {a.change for a in await apply_buckets(js, BUCKETS)} == {"created"}
    assert {a.change for a in await apply_buckets(js, BUCKETS)} == {"unchanged"}


async def test_webhook_stream_denies_delete_and_purge(broker: NatsBroker) -> None:
    js = broker.connection.jetstream()
    await apply_streams(js, STREAMS)
    config = (await js.stream_info("STRIPE_WEBHOOKS")).config
    assert config.deny_delete and config.deny_purge
    assert config.duplicate_window >= 72 * 3600
    assert config.max_age >= 30 * 24 * 3600


@pytest.fixture
async def consumer_runtime(
    nats_url: str, js_broker: NatsBroker
) -> AsyncIterator[tuple[ServiceRuntime, list[tuple[int, float]], asyncio.Event]]:
    settings = ServiceSettings(nats_url=nats_url, environment="test")
    runtime = ServiceRuntime("billing", settings, configure_process=False)
    deliveries: list[tuple[int, float]] = []
    done = asyncio.Event()
    consumer = DurableConsumer(
        service="billing",
        name="usage-meter",
        stream=CHAT_EVENTS,
        subject="events.chat.*.usage.recorded",
        retry=RetryPolicy(max_deliver=3, backoff=(0.2, 0.4)),
        ack_wait=5,
    )

    @runtime.consumer(consumer)
    async def handle(body: dict[str, object]) -> None:
        deliveries.append((len(deliveries) + 1, time.monotonic()))
        if body["data"]["run_id"] == "ok":  # type: ignore[index]
            done.set()
            return
        if body["data"]["run_id"] == "permanent":  # type: ignore[index]
            raise PermanentFailure("cannot ever apply this")
        raise RuntimeError("database is on fire")

    async with runtime.lifespan():
        yield runtime, deliveries, done


async def next_dead_letter(broker: NatsBroker, timeout: float = 10.0) -> object:
    js = broker.connection.jetstream()
    sub = await js.pull_subscribe("dlq.>", stream=DEAD_LETTERS.name)
    msgs = await sub.fetch(1, timeout=timeout)
    return msgs[0]


async def test_successful_message_is_acked_once(
    consumer_runtime: tuple[ServiceRuntime, list[tuple[int, float]], asyncio.Event],
    js_broker: NatsBroker,
) -> None:
    _, deliveries, done = consumer_runtime
    await EventPublisher(js_broker).publish(usage_event("ok"))
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.5)
    assert len(deliveries) == 1


async def test_failing_message_is_retried_with_delay_then_dead_lettered(
    consumer_runtime: tuple[ServiceRuntime, list[tuple[int, float]], asyncio.Event],
    js_broker: NatsBroker,
) -> None:
    _, deliveries, _ = consumer_runtime
    ack = await EventPublisher(js_broker).publish(usage_event("broken"))
    letter = await next_dead_letter(js_broker)
    assert len(deliveries) == 3
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(deliveries)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38  # the back-off was honoured
    headers = letter.headers  # type: ignore[attr-defined]
    assert headers[h.DLQ_ERROR] == "RuntimeError: database is on fire"
    assert headers[h.DLQ_SEQUENCE] == str(ack.seq)
    assert headers[h.DLQ_SUBJECT] == "events.chat.t_1.usage.recorded"
    assert headers[h.DLQ_DELIVERIES] == "3"
    assert b'"run_id":"broken"' in letter.data  # type: ignore[attr-defined]
    # The original stays in its stream (limits retention) for replay.
    original = await js_broker.connection.jetstream().get_msg(CHAT_EVENTS.name, ack.seq)
    assert b"broken" in (original.data or b"")


async def test_permanent_failure_is_dead_lettered_without_retries(
    consumer_runtime: tuple[ServiceRuntime, list[tuple[int, float]], asyncio.Event],
    js_broker: NatsBroker,
) -> None:
    _, deliveries, _ = consumer_runtime
    await EventPublisher(js_broker).publish(usage_event("permanent"))
    letter = await next_dead_letter(js_broker)
    assert len(deliveries) == 1
    assert letter.headers[h.DLQ_ERROR].startswith("PermanentFailure")  # type: ignore[attr-defined]


async def test_undecodable_message_is_dead_lettered(
    consumer_runtime: tuple[ServiceRuntime, list[tuple[int, float]], asyncio.Event],
    js_broker: NatsBroker,
) -> None:
    await EventPublisher(js_broker).publish_raw(
        "events.chat.t_1.usage.recorded", b"\x00not json", msg_id="garbage-1"
    )
    letter = await next_dead_letter(js_broker)
    assert letter.data == b"\x00not json"  # type: ignore[attr-defined]


@asynccontextmanager
async def outage_consumer(
    nats_url: str, outage: dict[str, bool], deliveries: list[float], applied: asyncio.Event
) -> AsyncIterator[ServiceRuntime]:
    """A consumer whose handler fails with a refused connection while ``outage["db"]``; the
    runtime's database check says down while ``outage["probe"]``."""
    runtime = ServiceRuntime(
        "billing", ServiceSettings(nats_url=nats_url, environment="test"), configure_process=False
    )

    async def database() -> bool:
        return not outage["probe"]

    runtime.readiness["database"] = database
    consumer = DurableConsumer(
        service="billing",
        name="usage-held",
        stream=CHAT_EVENTS,
        subject="events.chat.*.usage.recorded",
        retry=RetryPolicy(max_deliver=2, backoff=(0.1,), outage_poll=0.1),
        ack_wait=1.0,
    )

    @runtime.consumer(consumer)
    async def handle(body: dict[str, object]) -> None:
        deliveries.append(time.monotonic())
        if outage["db"]:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "connection refused")
        applied.set()

    async with runtime.lifespan():
        yield runtime


async def test_a_database_outage_holds_the_message_instead_of_spending_its_deliveries(
    nats_url: str, js_broker: NatsBroker
) -> None:
    outage = {"db": True, "probe": True}
    deliveries: list[float] = []
    applied = asyncio.Event()
    async with outage_consumer(nats_url, outage, deliveries, applied):
        await EventPublisher(js_broker).publish(usage_event("held"))
        # Three ack waits and thirty back-offs long: without holding, the two deliveries
        # would be spent and the message dead-lettered within a fraction of a second.
        await asyncio.sleep(3.0)
        assert len(deliveries) == 1  # held, kept from redelivery by +WPI
        outage.update(db=False, probe=False)
        await asyncio.wait_for(applied.wait(), 5)
        assert len(deliveries) == 2  # delivered again as soon as the database answered
        assert deliveries[1] - deliveries[0] >= 3.0
    js = js_broker.connection.jetstream()
    info = await js.consumer_info(CHAT_EVENTS.name, "usage-held")
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
    assert (await js.stream_info(DEAD_LETTERS.name)).state.messages == 0


async def test_a_refused_connection_while_the_dependencies_answer_takes_the_back_off(
    nats_url: str, js_broker: NatsBroker
) -> None:
    """Not every refused connection is our database being down (a third party's, say): when
    the probe says the dependencies answer, the ordinary retries and dead letter apply."""
    outage = {"db": True, "probe": False}
    deliveries: list[float] = []
    async with outage_consumer(nats_url, outage, deliveries, asyncio.Event()):
        await EventPublisher(js_broker).publish(usage_event("refused"))
        letter = await next_dead_letter(js_broker)
    assert len(deliveries) == 2
    assert letter.headers[h.DLQ_ERROR].startswith("ConnectionRefusedError")  # type: ignore[attr-defined]
