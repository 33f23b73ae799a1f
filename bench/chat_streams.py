"""Chat streaming at the bus: time to first frame, frames per second, memory over 1,000 runs.

Starts its own nats-server, PostgreSQL and redis-server (temporary
directories, free ports), migrates the chat schema, writes the bench tenant's entitlements to
the ``ENTITLEMENTS`` KV bucket as billing would, and runs the chat service as
its own process (``python -m agentbus_chat``) with the builtin model at zero
token delay. Streams are driven exactly as the gateway drives them: subscribe
to ``streams.chat.<stream_id>``, then request ``rpc.chat.v1.stream.start``;
the clock starts before the request.

Measured, at the bus and through the gateway:

- time to first frame (``conversation``) and to first ``delta``, at 1 and at
  100 concurrent streams;
- frames per second received, at 1 and at 100 concurrent streams;
- resident memory of the chat process before and after 1,000 runs.

Through the gateway: the gateway runs as its own process (``python -m
agentbus_gateway``, on the same redis-server), a client posts to
``/api/v1/chat/stream`` with a bearer token (signed by a key whose JWKS this
process serves as auth would) and reads the SSE events; the clock starts
before the request is written.

Baselines, in the same run on the same servers: the round trip of
``rpc.chat.v1.ping`` (the chat process's responder with no work behind it)
for the latency numbers at the bus, and raw core pub/sub of frame-sized
messages through the same nats-server for the throughput numbers; the
through-the-gateway numbers name the same measurement at the bus as theirs.

    uv run python -m bench.chat_streams [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import psutil
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from agentbus_shared import manifest, migrations
from agentbus_shared.bus import headers as h
from agentbus_shared.bus.streams import apply_streams
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.billing import Entitlements, PlanLimits
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.http import RATE_GROUPS
from agentbus_shared.contracts.streams import ENTITLEMENTS, STREAMS
from agentbus_shared.ids import new_id
from agentbus_shared.servers import NatsServer, PostgresServer, RedisServer, free_port
from bench.common import Result, describe, write_results

MODULE = "chat_streams"
COMMAND = "uv run python -m bench.chat_streams"
TENANT = "t_bench"
MESSAGE = "I have a problem: my account settings page is broken."
PRINCIPAL = Principal(
    subject="u_bench",
    tenant_id=TENANT,
    scopes=frozenset({Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}),
)


@dataclass
class StreamTiming:
    first_frame: float = float("nan")
    first_delta: float = float("nan")
    frames: int = 0
    done: float = float("nan")
    ok: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)


async def one_stream(nc: NatsClient) -> StreamTiming:
    """One streamed run, subscribed before it starts, timed from the start request."""
    timing = StreamTiming()
    stream_id = new_id("s")
    started = 0.0

    async def on_frame(msg: Msg) -> None:
        now = time.perf_counter()
        frame = json.loads(msg.data)
        timing.frames += 1
        if timing.frames == 1:
            timing.first_frame = now - started
        if frame["event"] == "delta" and timing.first_delta != timing.first_delta:
            timing.first_delta = now - started
        if frame["event"] in ("final", "error"):
            timing.done = now - started
            timing.ok = frame["event"] == "final"
            timing.finished.set()

    sub = await nc.subscribe(subjects.chat_stream(stream_id), cb=on_frame)
    started = time.perf_counter()
    reply = await nc.request(
        subjects.rpc("chat", "stream.start"),
        json.dumps({"message": MESSAGE, "stream_id": stream_id}).encode(),
        timeout=30,
        headers=h.caller_headers(PRINCIPAL),
    )
    if b'"error"' in reply.data[:20]:
        raise RuntimeError(f"stream.start refused: {reply.data[:300]!r}")
    await asyncio.wait_for(timing.finished.wait(), 60)
    await sub.unsubscribe()
    return timing


async def streams_at(
    nc: NatsClient, concurrency: int, total: int
) -> tuple[list[StreamTiming], float]:
    """``total`` streams, ``concurrency`` at a time; returns their timings and the wall time."""
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> StreamTiming:
        async with gate:
            return await one_stream(nc)

    started = time.perf_counter()
    timings = await asyncio.gather(*(gated() for _ in range(total)))
    return list(timings), time.perf_counter() - started


async def ping_roundtrips(nc: NatsClient, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await nc.request(subjects.rpc("chat", "ping"), b"{}", timeout=5)
        samples.append(time.perf_counter() - started)
    return samples


async def raw_pubsub_rate(nc: NatsClient, frames: int, payload: bytes) -> float:
    """Frames per second of plain core pub/sub through the same server (the bus ceiling)."""
    subject = f"bench.raw.{new_id('s')}"
    received = 0
    done = asyncio.Event()

    async def on_msg(_: Msg) -> None:
        nonlocal received
        received += 1
        if received == frames:
            done.set()

    sub = await nc.subscribe(subject, cb=on_msg, pending_msgs_limit=frames + 10)
    await nc.flush()
    started = time.perf_counter()
    for _ in range(frames):
        await nc.publish(subject, payload)
    await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    return frames / elapsed


async def put_entitlements(nc: NatsClient) -> None:
    js = nc.jetstream()
    try:
        kv = await js.key_value(ENTITLEMENTS.name)
    except Exception:
        kv = await js.create_key_value(ENTITLEMENTS.config())
    now = datetime.now(UTC)
    entitlements = Entitlements(
        tenant_id=TENANT,
        plan="bench",
        status="active",
        limits=PlanLimits(messages=None, tokens=None),
        period_start=now - timedelta(days=1),
        period_end=now + timedelta(days=29),
        updated_at=now,
    )
    await kv.put(TENANT, entitlements.model_dump_json().encode())


def start_chat(
    nats_url: str, database_url: str, redis_url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "CHAT_TUNING__BUILTIN_TOKEN_DELAY": "0",
        "CHAT_TUNING__DATABASE_POOL_SIZE": "20",
        # One bench user runs 100 streams at once: every one gets a slot and a place.
        "CHAT_TUNING__RUN_SLOTS": "128",
        "CHAT_TUNING__MAX_RUNS_PER_USER": "1000",
        "CHAT_TUNING__MAX_RUNS_PER_TENANT": "1000",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agentbus_chat"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def wait_for_chat(nc: NatsClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the chat process exited during start-up")
        with contextlib.suppress(Exception):
            await nc.request(subjects.rpc("chat", "ping"), b"{}", timeout=1)
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the chat service did not answer its ping")


# ------------------------------------------------------------------ through the gateway
HIGH_LIMIT = {"limit": 100_000_000, "window": 60}
GATEWAY_LIMITS = {
    group: {"ip": HIGH_LIMIT, "user": HIGH_LIMIT, "tenant": HIGH_LIMIT} for group in RATE_GROUPS
}


@dataclass
class Gateway:
    url: str
    token: str


async def serve_jwks(nc: NatsClient) -> str:
    """Answer ``rpc.auth.v1.jwks`` as auth does; return a token signed with the key."""
    from joserfc import jwt
    from joserfc.jwk import OKPKey

    from agentbus_shared.contracts.auth import ACCESS_TOKEN_TYPE, TOKEN_AUDIENCE, TOKEN_ISSUER, Jwks

    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    public = key.as_dict(private=False) | {"use": "sig", "alg": "Ed25519"}
    answer = json.dumps(
        {"data": Jwks(keys=[public], etag=str(key.kid)[:16], max_age=3600).model_dump()}
    ).encode()

    async def on_request(msg: Msg) -> None:
        await msg.respond(answer)

    await nc.subscribe(subjects.rpc("auth", "jwks"), queue="auth", cb=on_request)
    now = int(time.time())
    claims = {
        "sub": PRINCIPAL.subject,
        "tid": TENANT,
        "sid": "sess_bench",
        "scope": " ".join(sorted(PRINCIPAL.scopes)),
        "roles": ["owner"],
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "jti_bench",
    }
    header = {"alg": "Ed25519", "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    return str(jwt.encode(header, claims, key, algorithms=["Ed25519"]))


def start_gateway(nats_url: str, redis_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "HTTP_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "GATEWAY_TUNING__SERVICES": '["chat"]',
        "GATEWAY_TUNING__RATE_LIMITS": json.dumps(GATEWAY_LIMITS),
        "GATEWAY_TUNING__SSE_MAX_PER_USER": "1000",
        "GATEWAY_TUNING__SSE_MAX_PER_TENANT": "1000",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agentbus_gateway"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def wait_for_gateway(gateway: Gateway, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    seen = "nothing"
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                ready = await client.get(f"{gateway.url}/health/ready")
                agents = await client.get(
                    f"{gateway.url}/api/v1/agents",
                    headers={"Authorization": f"Bearer {gateway.token}"},
                )
                seen = f"ready {ready.status_code} {ready.text[:200]}, agents {agents.status_code}"
                if ready.status_code == 200 and agents.status_code == 200:
                    return
            await asyncio.sleep(0.3)
    tail = await asyncio.to_thread(_tail, log)
    raise RuntimeError(f"the gateway did not become ready ({seen}):\n{tail}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


async def one_sse_stream(client: Any, gateway: Gateway) -> StreamTiming:
    """One ``POST /api/v1/chat/stream``, read to its terminal event."""
    timing = StreamTiming()
    started = time.perf_counter()
    async with client.stream(
        "POST",
        f"{gateway.url}/api/v1/chat/stream",
        json={"message": MESSAGE},
        headers={"Authorization": f"Bearer {gateway.token}"},
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"chat/stream answered {response.status_code}")
        async for line in response.aiter_lines():
            if not line.startswith("event:"):
                continue
            now = time.perf_counter()
            event = line.removeprefix("event:").strip()
            timing.frames += 1
            if timing.frames == 1:
                timing.first_frame = now - started
            if event == "delta" and timing.first_delta != timing.first_delta:
                timing.first_delta = now - started
            if event in ("final", "error"):
                timing.done = now - started
                timing.ok = event == "final"
                break
    return timing


async def sse_streams_at(
    gateway: Gateway, concurrency: int, total: int
) -> tuple[list[StreamTiming], float]:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def gated() -> StreamTiming:
            async with gate:
                return await one_sse_stream(client, gateway)

        started = time.perf_counter()
        timings = await asyncio.gather(*(gated() for _ in range(total)))
        return list(timings), time.perf_counter() - started


def rss_mib(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


BUS_BASELINES = {
    "time to first frame": "rpc.chat.v1.ping round trip",
    "time to first delta": "rpc.chat.v1.ping round trip",
    "frames per second": "raw core pub/sub",
}


def timing_results(
    label: str, timings: list[StreamTiming], wall: float, *, compared_with: str | None = None
) -> list[Result]:
    """The three results of one setting; ``compared_with`` names the label of their baselines
    (the same measurement at the bus), else the bus baselines (ping, raw pub/sub)."""

    def base(metric: str) -> str:
        return f"{metric}, {compared_with}" if compared_with else BUS_BASELINES[metric]

    ok = [t for t in timings if t.ok]
    first = describe([t.first_frame * 1000 for t in ok])
    delta = describe([t.first_delta * 1000 for t in ok])
    frames = sum(t.frames for t in ok)
    spread = "p50 {p50:.2f} / p90 {p90:.2f} / p99 {p99:.2f} ms (n={n:.0f})"
    return [
        Result(
            f"time to first frame, {label}",
            first["median"],
            "ms",
            spread.format(**first),
            baseline=base("time to first frame"),
            extra={"failed": len(timings) - len(ok)},
        ),
        Result(
            f"time to first delta, {label}",
            delta["median"],
            "ms",
            spread.format(**delta),
            baseline=base("time to first delta"),
        ),
        Result(
            f"frames per second, {label}",
            frames / wall,
            "frames/s",
            f"{frames} frames in {wall:.2f} s, {len(ok) / wall:.1f} runs/s, "
            f"{frames / max(1, len(ok)):.0f} frames per run",
            baseline=base("frames per second"),
        ),
    ]


async def measure(quick: bool, workdir: Path) -> list[Result]:
    nats_server = NatsServer(workdir / "nats", persistent=False).start()
    postgres = PostgresServer(workdir / "postgres" / "data", persistent=False).start()
    redis_server = RedisServer(workdir / "redis" / "data", persistent=False).start()
    chat: subprocess.Popen[bytes] | None = None
    gateway_process: subprocess.Popen[bytes] | None = None
    try:
        database_url = postgres.ensure_database("bench_chat")
        for service in manifest.with_schema():
            if service.name == "chat":
                await migrations.upgrade_async(service, database_url)
        nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1)
        await put_entitlements(nc)
        chat = start_chat(nats_server.url, database_url, redis_server.url, workdir / "chat.log")
        await wait_for_chat(nc, chat)
        process = psutil.Process(chat.pid)

        ping = describe([s * 1000 for s in await ping_roundtrips(nc, 200)])
        await streams_at(nc, 10, 50)  # warm-up: connections, caches, code paths

        sequential, wall_1 = await streams_at(nc, 1, 30 if quick else 100)
        frame_size = len(
            json.dumps({"seq": 12, "event": "delta", "data": {"text": "settings "}}).encode()
        )
        raw_rate = await raw_pubsub_rate(nc, 20_000 if quick else 100_000, b"x" * frame_size)
        concurrent, wall_100 = await streams_at(nc, 100, 200 if quick else 500)

        # Every stream, as `agentbus streams apply` does: the gateway binds to auth's events.
        await apply_streams(nc.jetstream(), STREAMS)
        token = await serve_jwks(nc)
        gateway_port = free_port()
        gateway_process = start_gateway(
            nats_server.url, redis_server.url, gateway_port, workdir / "gateway.log"
        )
        gateway = Gateway(f"http://127.0.0.1:{gateway_port}", token)
        await wait_for_gateway(gateway, gateway_process, workdir / "gateway.log")
        await sse_streams_at(gateway, 10, 30)  # warm-up
        sse_sequential, sse_wall_1 = await sse_streams_at(gateway, 1, 30 if quick else 100)
        sse_concurrent, sse_wall_100 = await sse_streams_at(gateway, 100, 200 if quick else 500)

        runs = 200 if quick else 1000
        before = rss_mib(process)
        await streams_at(nc, 20, runs)
        after = rss_mib(process)
        await nc.close()

        results = [
            Result(
                "rpc.chat.v1.ping round trip",
                ping["median"],
                "ms",
                "p50 {p50:.2f} / p90 {p90:.2f} / p99 {p99:.2f} ms (n={n:.0f})".format(**ping),
            ),
            Result(
                "raw core pub/sub",
                raw_rate,
                "frames/s",
                f"{frame_size}-byte messages, one publisher, one subscriber, same server",
            ),
            *timing_results("1 stream", sequential, wall_1),
            *timing_results("100 concurrent streams", concurrent, wall_100),
            *timing_results(
                "1 stream, via gateway SSE", sse_sequential, sse_wall_1, compared_with="1 stream"
            ),
            *timing_results(
                "100 concurrent streams, via gateway SSE",
                sse_concurrent,
                sse_wall_100,
                compared_with="100 concurrent streams",
            ),
            Result(
                f"chat process memory growth over {runs} runs",
                after - before,
                "MiB",
                f"RSS {before:.1f} -> {after:.1f} MiB, {(after - before) * 1024 / runs:.1f} KiB per run",
                extra={"rss_before_mib": before, "rss_after_mib": after, "runs": runs},
            ),
        ]
        return results
    finally:
        for child in (gateway_process, chat):
            if child is not None and child.poll() is None:
                child.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(20)
                if child.poll() is None:
                    child.kill()
        redis_server.stop()
        postgres.stop()
        nats_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        results = asyncio.run(measure(args.quick, Path(tmp)))
    load_after = os.getloadavg()[0]
    write_results(
        MODULE,
        COMMAND + (" --quick" if args.quick else ""),
        results,
        notes=(
            "At the bus: subscribed to streams.chat.<id>, then stream.start, as the gateway does. "
            "Via gateway SSE: POST /api/v1/chat/stream through the gateway process. The clock "
            "starts before the request in both. Builtin model, zero token delay; "
            "each run hands off from triage to support and streams a ~45-word reply. Chat runs "
            "as its own process against its own nats-server and PostgreSQL; the benchmark "
            "client shares the same 2 cores. "
            f"1-minute load average {load_before:.1f} before, {load_after:.1f} after "
            "(other work on the machine competes for the same cores)."
        ),
    )


if __name__ == "__main__":
    main()
