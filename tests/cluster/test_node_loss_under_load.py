"""The clustered stack under load loses its JetStream meta leader, then the ``STRIPE_WEBHOOKS``
stream leader, then one replica of every service (each kill -9), and heals by itself.

The load — signed Stripe webhooks (sent again after any non-2xx, as Stripe does), logins and
chat streams — goes through a balancer over both gateways for the whole test. One node is down
at a time (the cluster keeps its quorum of two); each stays down (``Stack.hold_down``) until a
new leader is elected and more webhooks were accepted without it, then the supervisor starts it
again on its ports, data and routes. The four ``-2`` replicas go down together (the balancer
first takes ``gateway-2`` out of rotation and lets its open requests finish, as a load
balancer's health check would) and come back together.

Then: every request was answered (a success, or a 503/504 problem with ``Retry-After``; no
reset, no hang), every accepted webhook is applied exactly once and stored once, every chat
stream ended with exactly one terminal event, every outbox event is stored once; the three
nodes are current in the meta group, every stream and bucket has two current followers, every
replica is ready and a fresh webhook and chat stream work through each gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cluster_support import (
    PASSWORD,
    POLL,
    Member,
    chat_stream,
    each_event_stored_once,
    gateway_urls,
    message_ids,
    meta_leader,
    one_terminal_frame,
    sign_up,
    stream_placement,
    whole_cluster,
)
from nats.errors import Error as NatsError

from agentbus_shared import manifest
from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.testing.answers import Answer, assert_error_answer, retry_delay, send
from agentbus_shared.testing.stack import (
    Stack,
    aread_sse,
    signed_stripe_event,
    stripe_customer_created,
)
from agentbus_shared.testing.waiting import eventually, eventually_blocking, in_thread

pytestmark = [pytest.mark.fault, pytest.mark.slow]

CLIENT_TIMEOUT = 30.0
WEBHOOK_WORKERS = 4
LOGIN_WORKERS = 2
STREAM_WORKERS = 3
"""One user each, far under the per-user caps of streams and runs."""
SERVICES = tuple(service.name for service in manifest.discover())
PREFIX = "evt_nodeloss_"
NOT_YET = (httpx.HTTPError, NatsError, TimeoutError, AssertionError)
"""What a look at the cluster raises while a node is down or a leader not yet elected."""


@dataclass
class Balancer:
    """Round robin over the gateways in rotation; one taken out gets no new request."""

    gateways: list[str]
    out: set[str] = field(default_factory=set)
    open: Counter[str] = field(default_factory=Counter)
    turn: int = 0

    @contextlib.contextmanager
    def gateway(self) -> Iterator[str]:
        serving = [url for url in self.gateways if url not in self.out]
        self.turn += 1
        url = serving[self.turn % len(serving)]
        self.open[url] += 1
        try:
            yield url
        finally:
            self.open[url] -= 1


@dataclass
class Load:
    """What the load sent and got: every answer, the webhooks accepted, each stream's frames."""

    balancer: Balancer
    answers: list[Answer] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    streams: list[list[dict[str, Any]]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def successes(self, label: str, since: int = 0) -> int:
        return sum(a.label == label and a.status == 200 for a in self.answers[since:])

    def each_kind_served(self, count: int, since: int = 0) -> bool:
        return all(self.successes(kind, since) >= count for kind in ("webhook", "login", "stream"))


# ------------------------------------------------------------------ the load
async def _webhooks(load: Load, client: httpx.AsyncClient, secret: str, worker: int) -> None:
    sent = 0
    while not load.stop.is_set():
        event_id, tenant = f"{PREFIX}{worker}_{sent:04d}", f"tnt_nodeloss_{worker}_{sent:04d}"
        sent += 1
        while True:  # as Stripe: the same event again after any non-2xx
            payload, headers = signed_stripe_event(
                stripe_customer_created(event_id, tenant), secret
            )
            with load.balancer.gateway() as gateway:
                answer = await send(
                    client,
                    "webhook",
                    "POST",
                    f"{gateway}/webhooks/stripe",
                    content=payload,
                    headers=headers,
                )
            load.answers.append(answer)
            if answer.status == 200:
                load.accepted.add(event_id)
                break
            await asyncio.sleep(retry_delay(answer))


async def _logins(load: Load, client: httpx.AsyncClient, member: Member) -> None:
    credentials = {"email": member.email, "password": PASSWORD}
    while not load.stop.is_set():
        with load.balancer.gateway() as gateway:
            answer = await send(
                client, "login", "POST", f"{gateway}/api/v1/auth/token", json=credentials
            )
        load.answers.append(answer)
        if answer.status != 200:
            await asyncio.sleep(retry_delay(answer))


async def _streams(load: Load, client: httpx.AsyncClient, member: Member) -> None:
    turn = 0
    while not load.stop.is_set():
        turn += 1
        with load.balancer.gateway() as gateway:
            answer = await _stream(client, gateway, member, f"Tell me a story, part {turn}.", load)
        load.answers.append(answer)
        if answer.status != 200:
            await asyncio.sleep(retry_delay(answer))


async def _stream(
    client: httpx.AsyncClient, gateway: str, member: Member, message: str, load: Load
) -> Answer:
    """One chat stream read to its end; its frames go to ``load.streams``."""
    started = time.monotonic()
    try:
        async with client.stream(
            "POST",
            f"{gateway}/api/v1/chat/stream",
            json={"message": message},
            headers=member.headers,
        ) as reply:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            if reply.status_code != 200:
                body = json.loads(await reply.aread())
                return Answer(
                    "stream", reply.status_code, headers, body, seconds=time.monotonic() - started
                )
            frames = [{"event": f.event, "data": f.data} async for f in aread_sse(reply)]
    except httpx.HTTPError as exc:
        return Answer(
            "stream", None, {}, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started
        )
    load.streams.append(frames)
    return Answer("stream", 200, headers, frames, seconds=time.monotonic() - started)


# ------------------------------------------------------------------ the faults
async def _lose_node(
    cluster: Stack, load: Load, node: str, re_elected: Callable[[], Awaitable[bool]]
) -> dict[str, float]:
    """kill -9 ``node``; wait for ``re_elected`` and more webhooks accepted without it; start
    it again and wait for the whole cluster. How long each step took."""
    cluster.hold_down(node)
    old_pid = await asyncio.to_thread(cluster.kill, node)
    killed = time.monotonic()
    await eventually(re_elected, what=f"a new leader without {node}", timeout=30, ignoring=NOT_YET)
    elected = time.monotonic()
    accepted = len(load.accepted)
    await eventually(
        lambda: len(load.accepted) >= accepted + 10,
        what=f"webhooks accepted without {node}",
        timeout=60,
    )
    cluster.release(node)
    await asyncio.to_thread(cluster.wait_restarted, node, old_pid)
    await eventually(
        in_thread(lambda: whole_cluster(cluster)),
        what="the cluster whole again",
        timeout=60,
        interval=POLL,
        ignoring=NOT_YET,
    )
    return {"elected": round(elected - killed, 1), "healed": round(time.monotonic() - killed, 1)}


async def _lose_a_replica_of_each_service(cluster: Stack, load: Load) -> dict[str, float]:
    balancer = load.balancer
    second_gateway = cluster.replicas("gateway")["gateway-2"]["url"]
    balancer.out.add(second_gateway)
    await eventually(
        lambda: balancer.open[second_gateway] == 0, what="gateway-2 drained", timeout=60
    )
    victims = [f"{service}-2" for service in SERVICES]
    for victim in victims:
        cluster.hold_down(victim)
    old_pids = {victim: await asyncio.to_thread(cluster.kill, victim) for victim in victims}
    killed, since = time.monotonic(), len(load.answers)
    await eventually(
        lambda: load.each_kind_served(3, since), what="served by one replica of each", timeout=60
    )
    for victim in victims:
        cluster.release(victim)
    for victim in victims:
        await asyncio.to_thread(cluster.wait_restarted, victim, old_pids[victim])
    balancer.out.discard(second_gateway)
    return {"back": round(time.monotonic() - killed, 1)}


async def _break_and_mend(cluster: Stack, load: Load) -> dict[str, dict[str, float]]:
    await eventually(lambda: load.each_kind_served(5), what="the load under way", timeout=60)
    leader = await eventually(in_thread(lambda: meta_leader(cluster)), what="a meta leader")

    async def new_meta_leader() -> bool:
        return await asyncio.to_thread(meta_leader, cluster) not in (None, leader)

    timings = {f"meta leader {leader}": await _lose_node(cluster, load, leader, new_meta_leader)}
    stream_leader, _ = await stream_placement(cluster, STRIPE_WEBHOOKS.name)
    assert stream_leader is not None

    async def new_stream_leader() -> bool:
        elected, _ = await stream_placement(cluster, STRIPE_WEBHOOKS.name)
        return elected not in (None, stream_leader)

    timings[f"stream leader {stream_leader}"] = await _lose_node(
        cluster, load, stream_leader, new_stream_leader
    )
    timings["a replica of each service"] = await _lose_a_replica_of_each_service(cluster, load)
    since = len(load.answers)
    await eventually(
        lambda: load.each_kind_served(3, since), what="the load served again", timeout=60
    )
    load.stop.set()
    return timings


async def _run_load_through_the_faults(
    cluster: Stack, members: list[Member]
) -> tuple[Load, dict[str, Any]]:
    load = Load(Balancer(gateway_urls(cluster)))
    secret = cluster.stripe_webhook_secret()
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client:
        workers = [
            *(_webhooks(load, client, secret, n) for n in range(WEBHOOK_WORKERS)),
            *(_logins(load, client, members[0]) for _ in range(LOGIN_WORKERS)),
            *(_streams(load, client, member) for member in members),
        ]
        async with asyncio.timeout(150):
            timings, *_ = await asyncio.gather(_break_and_mend(cluster, load), *workers)
    return load, {"load seconds": round(time.monotonic() - started, 1), **timings}


# ------------------------------------------------------------------ the checks
def _every_request_answered(load: Load) -> None:
    for answer in load.answers:
        assert answer.error is None, answer
        assert answer.seconds < CLIENT_TIMEOUT, answer
        if answer.status != 200:
            assert_error_answer(answer)
    for frames in load.streams:
        one_terminal_frame(frames)


def _every_accepted_webhook_applied_once(cluster: Stack, load: Load) -> None:
    def applied() -> list[list[str]] | None:
        rows = cluster.psql(
            "SELECT count(*), count(DISTINCT id) FROM billing.stripe_events "
            f"WHERE id LIKE '{PREFIX}%' AND status = 'processed' AND outcome = 'applied'",
        )
        return rows if rows == [[str(len(load.accepted))] * 2] else None

    eventually_blocking(applied, what="every accepted webhook applied", timeout=60, interval=POLL)
    customers = cluster.psql(
        "SELECT count(*), count(DISTINCT tenant_id) FROM billing.customers "
        "WHERE tenant_id LIKE 'tnt_nodeloss_%'",
    )
    assert customers == [[str(len(load.accepted))] * 2], customers
    stored = asyncio.run(message_ids(cluster, STRIPE_WEBHOOKS.name))
    ours = {msg_id: count for msg_id, count in stored.items() if msg_id.startswith(PREFIX)}
    assert set(ours) == load.accepted and set(ours.values()) == {1}


def _healed(cluster: Stack, members: list[Member]) -> None:
    eventually_blocking(
        lambda: whole_cluster(cluster), what="the cluster whole", interval=POLL, ignoring=NOT_YET
    )
    for service in SERVICES:
        for name, process in cluster.replicas(service).items():
            ready = httpx.get(f"{process['url']}/health/ready", timeout=5)
            assert ready.status_code == 200, (name, ready.text)
    secret = cluster.stripe_webhook_secret()
    for n, gateway in enumerate(gateway_urls(cluster)):
        event_id = f"evt_healed_{n}"
        payload, headers = signed_stripe_event(
            stripe_customer_created(event_id, f"tnt_healed_{n}"), secret
        )
        accepted = httpx.post(
            f"{gateway}/webhooks/stripe", content=payload, headers=headers, timeout=30
        )
        assert accepted.status_code == 200, accepted.text
        frames = chat_stream(gateway, members[n].headers, "Hello after the storm")
        assert one_terminal_frame(frames) == "final", frames[-1]
    eventually_blocking(
        lambda: (
            cluster.psql(
                "SELECT count(*) FROM billing.stripe_events "
                "WHERE id LIKE 'evt_healed_%' AND status = 'processed'",
            )
            == [["2"]]
        ),
        what="the fresh webhooks applied",
        interval=POLL,
    )


def _only_late_replies_refused(cluster: Stack, before: set[str]) -> list[str]:
    """What the bus refused since the faults began (``before``: what it had refused until then):
    only replies to requests taken in on a killed node. A reply a service buffered while its
    node was down goes out on the node it reconnects to, which never delivered it the request
    and refuses it (the caller had its 504 by then)."""
    refused = [line for line in cluster.bus_violations() if line not in before]
    late_replies = [line for line in refused if 'Publish Violation - Subject "_INBOX_' in line]
    assert refused == late_replies, refused
    cluster.tolerate(late_replies)
    return late_replies


@pytest.mark.timeout(240)
def test_the_cluster_loses_its_leaders_and_a_replica_of_each_service_under_load_and_heals(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    members = [sign_up(gateways[0], f"node-loss-{n}@example.com") for n in range(STREAM_WORKERS)]
    refused_before = set(cluster.bus_violations())

    load, timings = asyncio.run(_run_load_through_the_faults(cluster, members))

    _every_request_answered(load)
    _every_accepted_webhook_applied_once(cluster, load)
    relayed = each_event_stored_once(cluster)
    _healed(cluster, members)
    late_replies = _only_late_replies_refused(cluster, refused_before)
    answers = Counter((a.label, a.status) for a in load.answers)
    ends = Counter(frames[-1]["event"] for frames in load.streams)
    print(
        f"timings {timings}; answers {dict(answers)}; stream ends {dict(ends)}; "
        f"outboxes {relayed}; late replies refused {len(late_replies)}"
    )
