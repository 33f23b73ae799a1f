"""The activity feed's projection throughput and rebuild rate, beside the raw JetStream reading.

What is measured (all servers real, started here; nothing on fixed ports):

1. ``raw_jetstream_consume`` (baseline): reading every event of the three streams the feed is
   made from (AUTH_EVENTS, CHAT_EVENTS, BILLING_EVENTS) through a pull consumer, in batches of
   500, decoding each body as JSON, and nothing else: the bus's ceiling for this reader.
2. ``live_applied``: ``python -m agentbus_activity`` runs as its own process; a burst of events
   (three quarters of kinds the feed shows, one quarter it skips) is published to the three
   streams as the services publish them; clock from the first publish to the moment the last
   item is in ``activity.feed_items``.
3. ``rebuild_whole``: ``agentbus activity rebuild``'s code, in this process, replaying all three
   streams from their start into the rebuild table and swapping it in, while the service keeps
   running; ``rebuild_replay`` is its replay phase alone (first fetch to last batch written:
   without marking the rebuild, creating the consumers and the swap).

Run: ``uv run python -m bench.activity_feed [--events N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import psutil
from nats.js.api import AckPolicy, ConsumerConfig

from agentbus_shared import manifest, migrations
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.billing import UsageThresholdReached
from agentbus_shared.contracts.chat import ConversationDeleted, UsageRecorded
from agentbus_shared.contracts.events import EventData, make_event
from agentbus_shared.contracts.streams import (
    AUTH_EVENTS,
    BILLING_EVENTS,
    BUCKETS,
    CHAT_EVENTS,
    STREAMS,
)
from agentbus_shared.contracts.tenants import MemberChanged
from agentbus_shared.servers import NatsServer, PostgresServer, free_port
from bench.common import Result, rows_at_least, wait_ready, write_results

TENANTS = 100
ROUNDS = 3
IN_FLIGHT = 50
BATCH = 500


def _spread(rates: list[float]) -> str:
    return f"median of {len(rates)} rounds, {min(rates):,.0f} to {max(rates):,.0f}"


def event_data(n: int) -> EventData:
    """A quarter each: member changes, usage thresholds, deleted conversations (all shown),
    usage records (skipped by design)."""
    tenant = f"t_bench{n % TENANTS}"
    user = f"usr_b{n % 1000}"
    kind = n % 4
    if kind == 0:
        return MemberChanged(tenant_id=tenant, user_id=user, role="member", changed_by="usr_owner")
    if kind == 1:
        return UsageThresholdReached(
            tenant_id=tenant, meter="messages", used=80, limit=100, percent=80
        )
    if kind == 2:
        return ConversationDeleted(tenant_id=tenant, conversation_id=f"c_{n}", deleted_by=user)
    return UsageRecorded(
        run_id=f"run_{n}",
        tenant_id=tenant,
        user_id=user,
        conversation_id=f"c_{n}",
        model="builtin",
        agent="triage",
        input_tokens=10,
        output_tokens=20,
        recorded_at=datetime.now(UTC),
    )


async def publish_all(nats_url: str, count: int, *, start: int) -> float:
    """Publish ``count`` events as the services' outbox relays do; the seconds it took."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=10)
    gate = asyncio.Semaphore(IN_FLIGHT)
    base = datetime.now(UTC) - timedelta(hours=1)

    async def one(n: int) -> None:
        data = event_data(n)
        event = make_event(
            data,
            tenant_id=data.tenant_id,  # type: ignore[attr-defined]
            event_id=f"evt_bench{n}",
            time=base + timedelta(milliseconds=n),
        )
        async with gate:
            await js.publish(
                event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id}
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(start, start + count)))
    elapsed = time.perf_counter() - started
    await nc.close()
    return elapsed


async def raw_consume(nats_url: str, round_: int) -> tuple[float, int]:
    """Read every event of the three streams through a pull consumer; seconds and count."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=10)
    read = 0
    started = time.perf_counter()
    for stream in (AUTH_EVENTS, CHAT_EVENTS, BILLING_EVENTS):
        pending = (await js.stream_info(stream.name)).state.messages
        config = ConsumerConfig(ack_policy=AckPolicy.NONE, filter_subject=stream.subjects[0])
        subscription = await js.pull_subscribe(
            stream.subjects[0], durable=f"bench-raw-{round_}-{stream.name.lower()}", config=config
        )
        while pending > 0:
            messages = await subscription.fetch(min(BATCH, pending), timeout=5)
            for message in messages:
                json.loads(message.data)
            pending -= len(messages)
            read += len(messages)
        await subscription.unsubscribe()
    elapsed = time.perf_counter() - started
    await nc.close()
    return elapsed, read


FEED_ITEMS = "SELECT count(*) FROM activity.feed_items"


async def forget_replay_consumers(nats_url: str) -> None:
    """Delete the rebuild's replay consumers (as the bench's unrestricted user), so the next
    round does not wait for them to expire."""
    from agentbus_activity.rebuild.replay import REPLAY_CONSUMERS

    nc = await nats.connect(nats_url)
    try:
        for consumer in REPLAY_CONSUMERS:
            await nc.jetstream().delete_consumer(consumer.stream.name, consumer.name)
    finally:
        await nc.close()


class ReplayClock:
    """A rebuild's progress as times: when its replay began and when its last batch was read."""

    def __init__(self) -> None:
        self.began = self.ended = 0.0

    def started(self, total: int) -> None:
        self.began = self.ended = time.perf_counter()

    def advanced(self, count: int) -> None:
        self.ended = time.perf_counter()


async def rebuild(env: dict[str, str]) -> tuple[float, float, int, int]:
    """A whole rebuild with the rebuild command's code: its seconds, the seconds of its replay
    phase (from the first fetch to the last batch read), events replayed, items."""
    from agentbus_activity.app import ActivityParts, build
    from agentbus_activity.settings import ActivitySettings

    os.environ.update(env)
    runtime = build(ActivitySettings(), configure_process=False)
    await runtime.broker.connect()
    clock = ReplayClock()
    try:
        started = time.perf_counter()
        result = await runtime.parts_as(ActivityParts).rebuild.run(progress=clock)
        whole = time.perf_counter() - started
        return whole, clock.ended - clock.began, result.replayed, result.items
    finally:
        await runtime.broker.stop()
        await runtime.database.dispose()


async def main(count: int) -> None:
    load_before = os.getloadavg()
    shown = sum(1 for n in range(count) if n % 4 != 3)
    with tempfile.TemporaryDirectory(prefix="bench-activity-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        nats_server = NatsServer(root / "nats").start()
        postgres = PostgresServer(root / "postgres").start()
        process: subprocess.Popen[bytes] | None = None
        try:
            database_url = postgres.ensure_database("bench")
            activity = next(m for m in manifest.with_schema() if m.name == "activity")
            await asyncio.to_thread(migrations.upgrade, activity, database_url)
            nc = await nats.connect(nats_server.url)
            await apply_streams(nc.jetstream(), STREAMS)
            await apply_buckets(nc.jetstream(), BUCKETS)
            await nc.close()

            port = free_port()
            env = {
                "NATS_URL": nats_server.url,
                "DATABASE_URL": database_url,
                "HTTP_PORT": str(port),
                "LOG_LEVEL": "WARNING",
            }
            process = subprocess.Popen(  # noqa: ASYNC220 - once, before the measurement
                [sys.executable, "-m", "agentbus_activity"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await wait_ready(port, process, "activity")
            service_cpu = psutil.Process(process.pid)
            cpu_before = sum(service_cpu.cpu_times()[:2])
            started = time.perf_counter()
            publish_task = asyncio.create_task(publish_all(nats_server.url, count, start=0))
            await rows_at_least(database_url, FEED_ITEMS, shown, interval=0.05)
            live_seconds = time.perf_counter() - started
            cpu_per_event = (sum(service_cpu.cpu_times()[:2]) - cpu_before) / count
            publish_seconds = await publish_task

            raw_rates, replay_rates, whole_rates = [], [], []
            for round_ in range(ROUNDS):  # raw and rebuild side by side, under the same load
                raw_seconds, raw_read = await raw_consume(nats_server.url, round_)
                rebuild_seconds, replay_seconds, replayed, rebuilt = await rebuild(env)
                await forget_replay_consumers(nats_server.url)
                raw_rates.append(raw_read / raw_seconds)
                replay_rates.append(replayed / replay_seconds)
                whole_rates.append(replayed / rebuild_seconds)
            process.terminate()
            process.wait(30)
            process = None
        finally:
            if process is not None:
                process.kill()
            postgres.stop()
            nats_server.stop()

    load_after = os.getloadavg()
    results = [
        Result(
            "raw_jetstream_consume",
            statistics.median(raw_rates),
            "events/s",
            spread=_spread(raw_rates),
            extra={"events": raw_read, "batch": BATCH, "what": "pull, JSON decode, no ack"},
        ),
        Result("publish", count / publish_seconds, "events/s", extra={"in_flight": IN_FLIGHT}),
        Result(
            "live_applied",
            count / live_seconds,
            "events/s",
            baseline="raw_jetstream_consume",
            extra={
                "events": count,
                "items": shown,
                "seconds": round(live_seconds, 3),
                "path": "publish to the three streams -> item in activity.feed_items",
            },
        ),
        Result(
            "activity_cpu_per_event",
            cpu_per_event * 1000,
            "ms",
            extra={"what": "user+system CPU of the activity process per event, live phase"},
        ),
        Result(
            "rebuild_replay",
            statistics.median(replay_rates),
            "events/s",
            spread=_spread(replay_rates),
            baseline="raw_jetstream_consume",
            extra={
                "events": replayed,
                "seconds": round(replay_seconds, 3),
                "what": "events read and written to the rebuild table, first fetch to last batch",
            },
        ),
        Result(
            "rebuild_whole",
            statistics.median(whole_rates),
            "events/s",
            spread=_spread(whole_rates),
            baseline="raw_jetstream_consume",
            extra={
                "events": replayed,
                "items": rebuilt,
                "seconds": round(rebuild_seconds, 3),
                "what": "the command's whole run: mark, consumers, replay, swap",
            },
        ),
    ]
    write_results(
        "activity_feed",
        f"uv run python -m bench.activity_feed --events {count}",
        results,
        notes="PostgreSQL with fsync on; nats-server with file storage; the activity service as "
        "a separate process with its default tuning (8 workers per stream's consumer), the "
        "rebuild in the benchmark's process while the service runs. Events: a quarter each of "
        "member.changed, usage.threshold, conversation.deleted (shown) and usage.recorded "
        f"(skipped), over {TENANTS} tenants. The live path applies the events its workers hand "
        "in while a write runs together in one transaction (group commit, up to 64: the tenants' "
        "data locks and deletion marks, the items, whether a rebuild collects them, the names for "
        "the live messages), each message acked on its own once committed, and is bound by the "
        "service's CPU per event; the rebuild reads batches and writes each in one "
        f"statement. The raw reading and the rebuild alternate for {ROUNDS} rounds (each rebuild "
        "replays every stream whole and swaps); each result is the median. Target for the "
        "rebuild: at least 5,000 events/s replayed. The machine is "
        f"shared: load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (2 cores).",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10000)
    args = parser.parse_args()
    asyncio.run(main(args.events))
