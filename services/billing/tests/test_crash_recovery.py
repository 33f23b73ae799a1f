"""Killing the billing process (SIGKILL) in the middle of a webhook burst loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from billing_support import stripe_event
from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agentbus_shared.bus import EventPublisher
from agentbus_shared.contracts import subjects
from agentbus_shared.db import async_url
from agentbus_shared.servers import free_port
from agentbus_shared.testing.waiting import eventually

BURST = 1000
TENANTS = 10

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class BillingProcess:
    """``python -m agentbus_billing`` as a real process, as the dev stack and deployments run it."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "HTTP_PORT": str(self.port),
            "BILLING_TUNING__WEBHOOK_WORKERS": "8",
            # what the killed process had in hand comes back after this many seconds
            "BILLING_TUNING__WEBHOOK_ACK_WAIT": "2",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agentbus_billing"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:

            async def answers() -> bool:
                assert self.process is not None
                assert self.process.poll() is None, self.log_path.read_text()[-3000:]
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}/health/ready")
                except httpx.TransportError:
                    return False
                return response.status_code == 200

            await eventually(answers, what="billing ready", timeout=60)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def billing_process(
    service_env: dict[str, str], streams: None, tmp_path: Path
) -> Iterator[BillingProcess]:
    process = BillingProcess(tmp_path / "billing.log")
    try:
        yield process
    finally:
        process.stop()


def invoice_paid(n: int) -> dict[str, object]:
    tenant_id = f"t_burst{n % TENANTS}"
    return stripe_event(
        "invoice.paid",
        {
            "id": f"in_burst{n:04d}",
            "object": "invoice",
            "customer": f"cus_{tenant_id}",
            "status": "paid",
            "amount_due": 100 + n,
            "amount_paid": 100 + n,
            "currency": "usd",
            "created": 1_790_000_000 + n,
            "subscription_details": {"metadata": {"tenant_id": tenant_id}},
        },
        created=1_790_000_000 + n,
        event_id=f"evt_burst{n:04d}",
    )


async def scalar(engine: AsyncEngine, query: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(query))).scalar_one())


async def at_least(engine: AsyncEngine, query: str, count: int) -> bool:
    return await scalar(engine, query) >= count


async def test_killing_billing_mid_burst_loses_no_webhook_and_applies_each_once(
    billing_process: BillingProcess, broker: NatsBroker, database_url: str
) -> None:
    engine = create_async_engine(async_url(database_url))
    publisher = EventPublisher(broker)
    events = [invoice_paid(n) for n in range(BURST)]
    processed = "SELECT count(*) FROM billing.stripe_events WHERE status = 'processed'"
    try:
        billing_process.start()
        await billing_process.ready()

        async def publish(event: dict[str, object]) -> None:
            await publisher.publish_raw(
                subjects.stripe_webhook(str(event["type"])),
                json.dumps(event).encode(),
                msg_id=str(event["id"]),
            )

        for start in range(0, BURST, 100):
            await asyncio.gather(*(publish(e) for e in events[start : start + 100]))

        await eventually(
            lambda: at_least(engine, processed, 100),
            what="the burst started being applied",
            timeout=60,
            interval=0.02,
        )
        billing_process.kill()
        at_kill = await scalar(engine, processed)

        billing_process.start()
        await billing_process.ready()
        await eventually(
            lambda: at_least(engine, processed, BURST),
            what="every event applied after the restart",
            timeout=120,
            interval=0.2,
        )
        await asyncio.sleep(1.0)  # anything applied twice would show up now

        assert 0 < at_kill < BURST
        assert await scalar(engine, "SELECT count(*) FROM billing.stripe_events") == BURST
        assert await scalar(engine, "SELECT count(*) FROM billing.invoices") == BURST
        assert await scalar(engine, "SELECT sum(amount_paid) FROM billing.invoices") == sum(
            100 + n for n in range(BURST)
        )
        changed = "FROM billing.outbox WHERE subject LIKE 'events.billing.%.invoice.changed'"
        assert await scalar(engine, f"SELECT count(*) {changed}") == BURST
        distinct = (
            "SELECT count(DISTINCT convert_from(payload, 'UTF8')::jsonb -> 'data' ->> 'invoice_id') "
            + changed
        )
        assert await scalar(engine, distinct) == BURST
    finally:
        await engine.dispose()
