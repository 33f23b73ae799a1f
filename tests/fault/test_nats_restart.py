"""nats-server restarted during a burst of Stripe webhooks: none lost, none applied twice.

Stripe retries a delivery until it gets a 2xx; the gateway answers 200 only once JetStream
has stored the event, 503 otherwise. So: every event answered 200 is in STRIPE_WEBHOOKS and
applied by billing exactly once; those answered 503 are sent again (as Stripe would) and are
then applied once too. Services reconnect by themselves: no process is restarted.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import nats
import pytest
from fault_support import (
    Answer,
    FaultStack,
    assert_error_answer,
    ready_status,
    retry_delay,
    send,
)

from agentbus_shared.testing.stack import signed_stripe_event, stripe_customer_created
from agentbus_shared.testing.waiting import eventually, eventually_blocking

pytestmark = [pytest.mark.fault, pytest.mark.slow]

BURST = 300
CONCURRENCY = 16
PUBLISH_PATIENCE = 7.0  # the gateway's publisher: 3 attempts of 2 s and short back-offs


async def _deliver_until_accepted(
    client: httpx.AsyncClient, event_id: str, tenant: str, secret: str, log: list[Answer]
) -> None:
    """Deliver one event the way Stripe does: again after any non-2xx, until it is accepted."""
    deadline = time.monotonic() + 60
    while True:
        payload, headers = signed_stripe_event(stripe_customer_created(event_id, tenant), secret)
        answer = await send(
            client, event_id, "POST", "/webhooks/stripe", content=payload, headers=headers
        )
        log.append(answer)
        if answer.status == 200:
            return
        assert time.monotonic() < deadline, f"{event_id} never accepted: {answer}"
        await asyncio.sleep(retry_delay(answer))


async def _burst_with_restart(
    faults: FaultStack, prefix: str, sig: int, outage: float
) -> list[Answer]:
    stack = faults.stack
    secret = stack.stripe_webhook_secret()
    answers: list[Answer] = []
    answered_before_restart: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(BURST):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await _deliver_until_accepted(
                client, f"evt_{prefix}{i:04d}", f"tnt_{prefix}{i:04d}", secret, answers
            )

    async def restart_mid_burst() -> None:
        await eventually(
            lambda: sum(a.status == 200 for a in answers) >= BURST // 4,
            what="a quarter of the burst accepted",
            timeout=60,
        )
        await asyncio.to_thread(faults.stop_server, "nats", sig)
        await asyncio.sleep(outage)  # deliveries meanwhile wait, or get 503 past the retries
        # Started from this (the main) thread: a server dies with the thread that started it
        # (parent-death signal), so not from a worker thread. It blocks the loop a moment.
        faults.start_server("nats")
        answered_before_restart.append(sum(a.status == 200 for a in answers))

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, limits=limits) as client:
        await asyncio.gather(restart_mid_burst(), *(worker(client) for _ in range(CONCURRENCY)))
    # The restart fell within the burst: deliveries were accepted before and after it.
    assert BURST // 4 <= answered_before_restart[0] < BURST, answered_before_restart
    return answers


def _stream_ids(url: str, prefix: str) -> list[str]:
    """Nats-Msg-Id of every STRIPE_WEBHOOKS message of this burst (with repeats, if any)."""

    async def read() -> list[str]:
        connection = await nats.connect(url)
        try:
            js = connection.jetstream()
            info = await js.stream_info("STRIPE_WEBHOOKS")
            ids = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg("STRIPE_WEBHOOKS", seq)
                msg_id = (message.headers or {}).get("Nats-Msg-Id", "")
                if msg_id.startswith(f"evt_{prefix}"):
                    ids.append(msg_id)
            return ids
        finally:
            await connection.close()

    async def read_when_available() -> list[str]:
        # Right after a restart JetStream may still be recovering its streams: ask again.
        return await eventually(
            read,
            what=f"the {prefix} burst read from STRIPE_WEBHOOKS",
            timeout=30,
            interval=0.5,
            ignoring=(nats.errors.Error, TimeoutError),
        )

    return asyncio.run(read_when_available())


def _check_burst(faults: FaultStack, prefix: str, answers: list[Answer]) -> None:
    expected = {f"evt_{prefix}{i:04d}" for i in range(BURST)}
    # Every delivery got an answer: 200, or 503 with Retry-After (then it was sent again).
    for answer in answers:
        assert answer.error is None, answer
        if answer.status != 200:
            assert_error_answer(answer, allowed=(503,))
    accepted = {a.label for a in answers if a.status == 200}
    assert accepted == expected

    # Stored once each (Stripe's retries of one event are one message) ...
    stored = _stream_ids(faults.stack.state["urls"]["NATS_URL"], prefix)
    assert sorted(stored) == sorted(expected)

    # ... and applied once each by billing: one processed row and one customer per event.
    def all_applied() -> bool:
        rows = faults.stack.psql(
            "SELECT count(*), count(DISTINCT id) FROM billing.stripe_events "
            f"WHERE id LIKE 'evt_{prefix}%' AND status = 'processed'"
        )
        return rows == [[str(BURST), str(BURST)]]

    eventually_blocking(all_applied, what=f"billing applied the {prefix} burst", timeout=90)
    customers = faults.stack.psql(
        "SELECT count(*), count(DISTINCT stripe_customer_id) FROM billing.customers "
        f"WHERE tenant_id LIKE 'tnt_{prefix}%'"
    )
    assert customers == [[str(BURST), str(BURST)]]
    outcomes = faults.stack.psql(
        "SELECT outcome, count(*) FROM billing.stripe_events "
        f"WHERE id LIKE 'evt_{prefix}%' GROUP BY outcome"
    )
    assert outcomes == [["applied", str(BURST)]]


@pytest.mark.timeout(240)
def test_webhook_burst_survives_nats_restarts(faults: FaultStack) -> None:
    stack = faults.stack
    pids = {name: stack.pid(name) for name in ("gateway", "auth", "chat", "billing")}

    # A short outage: the gateway's publisher waits it out (nats-py buffers while it
    # reconnects). A long one: past the publisher's three 2 s attempts, deliveries get 503.
    for prefix, sig, outage in (("term", signal.SIGTERM, 1.0), ("kill", signal.SIGKILL, 8.0)):
        answers = asyncio.run(_burst_with_restart(faults, prefix, sig, outage))
        _check_burst(faults, prefix, answers)
        if outage > PUBLISH_PATIENCE:
            assert any(a.status == 503 for a in answers), "no delivery was refused"

    # Every process reconnected by itself.
    for name in ("auth", "chat", "billing"):
        eventually_blocking(
            lambda n=name: ready_status(faults.service_url(n)) == 200, what=f"{name} ready"
        )
    eventually_blocking(lambda: ready_status(stack.gateway_url) == 200, what="gateway ready")
    assert {name: stack.pid(name) for name in pids} == pids
