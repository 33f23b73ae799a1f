"""Stripe webhook throughput and replay speed of the billing service, on this machine.

What is measured (all servers real, started here; nothing on fixed ports):

1. ``publish_only`` (baseline): publishing the burst to STRIPE_WEBHOOKS as the
   gateway does (``stripe.webhooks.<type>``, ``Nats-Msg-Id`` = event id, wait
   for the PubAck; 50 in flight), with no consumer: the bus's ceiling.
2. ``applied_end_to_end``: the same kind of burst (fresh ids) published the same
   way while ``python -m agentbus_billing`` runs as its own process; clock from
   the first publish to the moment the last event is applied in PostgreSQL
   (``stripe_events.status = 'processed'``). The events are a mix of
   ``invoice.paid`` and ``customer.subscription.updated`` for 200 tenants.
   This starts at the stream, not at ``POST /webhooks/stripe``: the number
   through the gateway's HTTP intake is measured separately, once it exists.
3. ``replay``: re-applying every event from sequence 1 through an ephemeral
   ordered consumer (each event already applied: nothing changes), and the
   same as a dry run.

Run: ``uv run python -m bench.billing_webhooks [--events N] [--workers W]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import psutil

from agentbus_shared import manifest, migrations
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.servers import NatsServer, PostgresServer, RedisServer, free_port
from bench.common import Result, rows_at_least, wait_ready, write_results

TENANTS = 200
IN_FLIGHT = 50


def events(count: int, *, prefix: str, start: int) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        tenant = f"t_bench{n % TENANTS}"
        created = start + n
        if n % 2:
            obj: dict[str, Any] = {
                "id": f"in_{prefix}{n}",
                "object": "invoice",
                "customer": f"cus_{tenant}",
                "status": "paid",
                "amount_due": 1900,
                "amount_paid": 1900,
                "currency": "usd",
                "created": created,
                "subscription_details": {"metadata": {"tenant_id": tenant}},
            }
            kind = "invoice.paid"
        else:
            obj = {
                "id": f"sub_{tenant}",
                "object": "subscription",
                "customer": f"cus_{tenant}",
                "status": "active",
                "cancel_at_period_end": bool(n % 4),
                "metadata": {"tenant_id": tenant},
                "items": {
                    "data": [{"price": {"id": "price_x", "lookup_key": "agentbus_starter_month"}}]
                },
                "current_period_start": start,
                "current_period_end": start + 30 * 86400,
            }
            kind = "customer.subscription.updated"
        made.append(
            {
                "id": f"evt_{prefix}{n}",
                "object": "event",
                "type": kind,
                "created": created,
                "data": {"object": obj},
            }
        )
    return made


async def publish_all(nats_url: str, burst: list[dict[str, Any]]) -> float:
    """Publish like the gateway (PubAck awaited, ``IN_FLIGHT`` at once); return seconds taken."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=10)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(event: dict[str, Any]) -> None:
        async with gate:
            await js.publish(
                f"stripe.webhooks.{event['type']}",
                json.dumps(event).encode(),
                headers={"Nats-Msg-Id": event["id"], "content-type": "application/json"},
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(e) for e in burst))
    elapsed = time.perf_counter() - started
    await nc.close()
    return elapsed


PROCESSED = "SELECT count(*) FROM billing.stripe_events WHERE status = 'processed'"


async def replay(env: dict[str, str], *, dry_run: bool) -> tuple[float, dict[str, Any]]:
    from agentbus_billing.app import assemble
    from agentbus_billing.manifest import MANIFEST
    from agentbus_billing.settings import BillingSettings
    from agentbus_shared.contracts.billing import ReplayCommand
    from agentbus_shared.runtime import ServiceRuntime

    os.environ.update(env)
    settings = BillingSettings()
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=False)
    parts = assemble(runtime, settings)
    await runtime.broker.connect()
    try:
        started = time.perf_counter()
        result = await parts.replayer.replay(ReplayCommand(from_seq=1, dry_run=dry_run))
        return time.perf_counter() - started, result.model_dump()
    finally:
        await runtime.broker.stop()
        await runtime.database.dispose()


async def main(count: int, workers: int) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-billing-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        nats_server = NatsServer(root / "nats").start()
        postgres = PostgresServer(root / "postgres").start()
        redis = RedisServer(root / "redis").start()
        process: subprocess.Popen[bytes] | None = None
        try:
            database_url = postgres.ensure_database("bench")
            billing_manifest = next(m for m in manifest.with_schema() if m.name == "billing")
            await asyncio.to_thread(migrations.upgrade, billing_manifest, database_url)
            nc = await nats.connect(nats_server.url)
            await apply_streams(nc.jetstream(), STREAMS)
            await apply_buckets(nc.jetstream(), BUCKETS)
            await nc.close()

            now = int(time.time())
            baseline = await publish_all(nats_server.url, events(count, prefix="base", start=now))

            port = free_port()
            env = {
                "NATS_URL": nats_server.url,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "HTTP_PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "BILLING_TUNING__WEBHOOK_WORKERS": str(workers),
                "BILLING_TUNING__METER_REPORT_INTERVAL": "60",
            }
            # The baseline burst sits in the stream too: let the service apply it first.
            process = subprocess.Popen(  # noqa: ASYNC220 - once, before the measurement
                [sys.executable, "-m", "agentbus_billing"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await wait_ready(port, process, "billing")
            await rows_at_least(database_url, PROCESSED, count, interval=0.2)

            burst = events(count, prefix="e2e", start=now + count)
            billing_cpu = psutil.Process(process.pid)
            cpu_before = sum(billing_cpu.cpu_times()[:2])
            started = time.perf_counter()
            publish_task = asyncio.create_task(publish_all(nats_server.url, burst))
            await rows_at_least(database_url, PROCESSED, 2 * count, interval=0.05)
            end_to_end = time.perf_counter() - started
            cpu_per_event = (sum(billing_cpu.cpu_times()[:2]) - cpu_before) / count
            await publish_task
            process.terminate()
            process.wait(30)
            process = None

            replay_seconds, replayed = await replay(env, dry_run=False)
            dry_seconds, dry = await replay(env, dry_run=True)
        finally:
            if process is not None:
                process.kill()
            redis.stop()
            postgres.stop()
            nats_server.stop()

    load_after = os.getloadavg()
    total = 2 * count
    results = [
        Result(
            "publish_only",
            count / baseline,
            "events/s",
            baseline=None,
            extra={"events": count, "in_flight": IN_FLIGHT},
        ),
        Result(
            "applied_end_to_end",
            count / end_to_end,
            "events/s",
            baseline="publish_only",
            extra={
                "events": count,
                "workers": workers,
                "seconds": round(end_to_end, 3),
                "path": "publish to STRIPE_WEBHOOKS -> applied in PostgreSQL (no HTTP intake)",
            },
        ),
        Result(
            "billing_cpu_per_event",
            cpu_per_event * 1000,
            "ms",
            baseline=None,
            extra={
                "what": "user+system CPU of the billing process per applied event, "
                "end-to-end phase (independent of the machine's other load)"
            },
        ),
        Result(
            "replay",
            total / replay_seconds,
            "events/s",
            baseline="applied_end_to_end",
            extra={"events": total, "result": replayed},
        ),
        Result(
            "replay_dry_run",
            total / dry_seconds,
            "events/s",
            baseline="replay",
            extra={"events": total, "result": dry},
        ),
    ]
    write_results(
        "billing_webhooks",
        f"uv run python -m bench.billing_webhooks --events {count} --workers {workers}",
        results,
        notes="PostgreSQL with fsync on (persistent data dir); nats-server with file storage; "
        "billing as a separate process with the given webhook workers. The machine is shared: "
        f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (2 cores).",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.workers))
