"""The product on the clustered bus: one replica of every service versus two, and JetStream R1
versus R3, on the three-node cluster of ``agentbus dev --cluster`` (a single-node stack is the
reference).

For each stack (single node with one replica; three nodes with one replica; three nodes with two,
``start_stack(cluster=True, replicas=N)``), started here on free ports and stopped after:

1. gateway path: ``GET /api/v1/auth/me`` with a user's access token (gateway → NATS RPC → auth
   → reply) from keep-alive connections spread evenly over the stack's gateways, as a load
   balancer would, for ``--seconds``;
2. webhook application: ``--webhooks`` signed Stripe ``customer.created`` events posted over the
   gateways (accepted = acked by JetStream), the clock stopping when billing has applied the last
   one in PostgreSQL;
3. JetStream publish: messages to a stream of one replica and, on the cluster, to one of three,
   each awaiting its PubAck (one at a time, then 50 in flight).

On two cores a second replica cannot add CPU: it shows what replication costs, not a speed-up.

Run: ``uv run python -m bench.cluster_replicas [--seconds 8] [--webhooks 1200]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
from nats.js.api import StorageType, StreamConfig

from agentbus_shared.testing.stack import (
    Stack,
    generous_rate_limits,
    signed_stripe_event,
    start_stack,
    stripe_customer_created,
)
from bench.billing_webhooks import PROCESSED
from bench.common import Result, describe, rows_at_least, write_results
from bench.gateway_forwarding import http_request, load

MODULE = "cluster_replicas"
CONNECTIONS = 32
IN_FLIGHT = 50
PUBLISHES = 3000
PAYLOAD = b"x" * 512
PASSWORD = "correct horse battery staple 42"


@dataclass(frozen=True)
class Layout:
    """One stack to measure: its name in the results, and how ``agentbus dev`` runs it."""

    name: str
    cluster: bool
    replicas: int
    baseline: str | None

    @property
    def stream_replicas(self) -> tuple[int, ...]:
        return (1, 3) if self.cluster else (1,)


LAYOUTS = (
    Layout("single node, 1 replica", cluster=False, replicas=1, baseline=None),
    Layout("3 nodes, 1 replica", cluster=True, replicas=1, baseline="single node, 1 replica"),
    Layout("3 nodes, 2 replicas", cluster=True, replicas=2, baseline="3 nodes, 1 replica"),
)


def measured(
    what: str, where: str, value: float, unit: str, spread: str, *, against: str | None
) -> Result:
    """``what`` measured on ``where``, compared with the same measure on ``against`` if any."""
    return Result(
        f"{what}, {where}",
        value,
        unit,
        spread=spread,
        baseline=f"{what}, {against}" if against else None,
    )


@contextmanager
def running(layout: Layout, var_dir: Path) -> Iterator[Stack]:
    stack = start_stack(
        var_dir,
        # Warnings only, as the other benchmarks' servers: the measure is the work, not the logs.
        {**generous_rate_limits(), "LOG_LEVEL": "WARNING"},
        cluster=layout.cluster,
        replicas=layout.replicas if layout.cluster else None,
    )
    try:
        yield stack
    finally:
        stack.stop()


def gateway_ports(stack: Stack) -> list[int]:
    urls = [process["url"] for _, process in sorted(stack.replicas("gateway").items())]
    return [int(urlsplit(url).port or 80) for url in urls]


def access_token(stack: Stack) -> str:
    email = f"bench-{secrets.token_hex(4)}@example.com"
    registered = httpx.post(
        f"{stack.gateway_url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "tenant_name": "bench"},
        timeout=30,
    )
    registered.raise_for_status()
    return str(registered.json()["tokens"]["access_token"])


async def spread_load(
    ports: list[int], requests: list[bytes], *, seconds: float | None
) -> tuple[list[float], int, float]:
    """``requests`` over every gateway at once, ``CONNECTIONS`` keep-alive connections shared
    evenly; with ``seconds`` None each request is sent once (split among the gateways)."""
    per_gateway = CONNECTIONS // len(ports)
    shares = [requests[n :: len(ports)] for n in range(len(ports))] if seconds is None else None
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(
            load(port, shares[n] if shares else requests, concurrency=per_gateway, seconds=seconds)
            for n, port in enumerate(ports)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = [x for lats, _, _ in outcomes for x in lats]
    return latencies, sum(failed for _, failed, _ in outcomes), elapsed


def measure_gateway(layout: Layout, stack: Stack, seconds: float) -> Result:
    token = access_token(stack)
    request = http_request("GET", "/api/v1/auth/me", {"Authorization": f"Bearer {token}"})
    ports = gateway_ports(stack)
    asyncio.run(spread_load(ports, [request], seconds=1.0))  # warm up
    latencies, failed, elapsed = asyncio.run(spread_load(ports, [request], seconds=seconds))
    stats = describe([x * 1000 for x in latencies])
    return measured(
        "gateway GET /auth/me",
        layout.name,
        (len(latencies) - failed) / elapsed,
        "req/s",
        f"p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms, n={len(latencies)}, "
        f"non-2xx {failed}, {len(ports)} gateway(s)",
        against=layout.baseline,
    )


def measure_webhooks(layout: Layout, stack: Stack, count: int) -> list[Result]:
    secret = stack.stripe_webhook_secret()
    prefix = f"evt_bench{secrets.token_hex(3)}_"
    requests = []
    for n in range(count):
        body, headers = signed_stripe_event(
            stripe_customer_created(f"{prefix}{n:06d}", f"tnt_bench_{n:06d}"), secret
        )
        requests.append(http_request("POST", "/webhooks/stripe", headers, body))
    database_url = stack.state["urls"]["DATABASE_URL"]

    async def deliver_and_apply() -> tuple[float, float, int]:
        started = time.perf_counter()
        _, failed, accepted_in = await spread_load(gateway_ports(stack), requests, seconds=None)
        await rows_at_least(database_url, PROCESSED, count, interval=0.05)
        return accepted_in, time.perf_counter() - started, failed

    accepted_in, applied_in, failed = asyncio.run(deliver_and_apply())
    return [
        measured(
            "webhooks accepted",
            layout.name,
            count / accepted_in,
            "events/s",
            f"n={count}, non-2xx {failed}",
            against=layout.baseline,
        ),
        measured(
            "webhooks applied end to end",
            layout.name,
            count / applied_in,
            "events/s",
            f"first POST to last row applied, {applied_in:.1f} s",
            against=layout.baseline,
        ),
    ]


async def publish_rates(nats_url: str, replicas: int) -> tuple[float, float, dict[str, float]]:
    """Publishes per second to a fresh stream of ``replicas``: one at a time, then
    ``IN_FLIGHT`` at once; and the latency of the one-at-a-time publishes (ms)."""
    connection = await nats.connect(nats_url, connect_timeout=5)
    js = connection.jetstream(timeout=10)
    name = f"BENCH_R{replicas}"
    subject = f"bench.r{replicas}"
    try:
        await js.add_stream(
            StreamConfig(
                name=name, subjects=[subject], storage=StorageType.FILE, num_replicas=replicas
            )
        )
        latencies = []
        started = time.perf_counter()
        for _ in range(PUBLISHES // 3):
            sent = time.perf_counter()
            await js.publish(subject, PAYLOAD)
            latencies.append((time.perf_counter() - sent) * 1000)
        sequential = len(latencies) / (time.perf_counter() - started)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with gate:
                await js.publish(subject, PAYLOAD)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(PUBLISHES)))
        concurrent = PUBLISHES / (time.perf_counter() - started)
        await js.delete_stream(name)
        return sequential, concurrent, describe(latencies)
    finally:
        await connection.close()


def measure_publishing(layout: Layout, stack: Stack) -> list[Result]:
    results = []
    for replicas in layout.stream_replicas:
        sequential, concurrent, stats = asyncio.run(
            publish_rates(stack.state["urls"]["NATS_URL"], replicas)
        )
        where = f"{layout.name}, R{replicas}"
        against = f"{layout.name}, R1" if replicas > 1 else None
        results += [
            measured(
                "JetStream publish one at a time",
                where,
                sequential,
                "msg/s",
                f"p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, 512 B",
                against=against,
            ),
            measured(
                f"JetStream publish {IN_FLIGHT} in flight",
                where,
                concurrent,
                "msg/s",
                "512 B, file storage",
                against=against,
            ),
        ]
    return results


def run(seconds: float, webhooks: int) -> None:
    load_before = os.getloadavg()[0]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        for n, layout in enumerate(LAYOUTS):
            print(f"-- {layout.name}", flush=True)
            with running(layout, Path(scratch) / f"var-{n}") as stack:
                results.append(measure_gateway(layout, stack, seconds))
                results += measure_webhooks(layout, stack, webhooks)
                results += measure_publishing(layout, stack)
    load_after = os.getloadavg()[0]
    write_results(
        MODULE,
        f"uv run python -m bench.{MODULE} --seconds {seconds:g} --webhooks {webhooks}",
        results,
        notes=notes(load_before, load_after),
    )


def notes(load_before: float, load_after: float) -> str:
    return (
        "Each stack is `agentbus dev` (three nats-server nodes with R3 streams for the cluster; "
        "PostgreSQL, Redis, the Stripe stand-in, every service), started and stopped by this "
        "run, with the load generator in this process: everything shares the machine's 2 "
        "cores. On 2 cores a second replica of every service cannot bring more CPU; its numbers "
        "show the overhead of replication (twice the processes, routes between nodes, "
        "R3 acknowledgements), not a speed-up: horizontal scaling needs the replicas on "
        "machines of their own. Replica n of each service uses node n; the load is spread "
        f"evenly over the gateways ({CONNECTIONS} connections). JetStream streams are made for "
        "the measurement through the last node (the harness's), their leader placed by the "
        "cluster. 1-minute load average at the start of the run "
        f"{load_before:.2f}, at the end {load_after:.2f} (the stacks this run starts count in "
        "it; a start above ~2 on 2 cores means other work competed and every layout measured "
        "later had fewer spare cycles, so compare ratios only from a run that started quiet)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"bench.{MODULE}")
    parser.add_argument("--seconds", type=float, default=8.0, help="gateway load per stack")
    parser.add_argument("--webhooks", type=int, default=1200, help="signed events per stack")
    args = parser.parse_args()
    run(args.seconds, args.webhooks)


if __name__ == "__main__":
    main()
