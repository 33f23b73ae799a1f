"""What the clustered suite's modules share: the stack's tuning, its gateways, sign-ups, streams,
the JetStream cluster's leaders as the nodes report them, and the events on a stream."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from agentbus_shared.contracts.streams import (
    AUTH_EVENTS,
    BILLING_EVENTS,
    BUCKETS,
    CHAT_EVENTS,
    STREAMS,
)
from agentbus_shared.testing.stack import Stack, generous_rate_limits, read_sse
from agentbus_shared.testing.waiting import eventually, eventually_blocking

PASSWORD = "correct horse battery staple 42"
LEASE_SECONDS = 6.0
"""Chat's run lease here: a killed replica's conversation is free again this long after."""
CLUSTER_ENV = {
    # The tests send more requests from one address than the default quotas allow.
    **generous_rate_limits(),
    # Background loops on a test's time scale: key reloads, meter reports, lease renewals.
    "AUTH_TUNING__KEYS_RELOAD_INTERVAL": "1",
    "BILLING_TUNING__METER_REPORT_INTERVAL": "1",
    "CHAT_TUNING__LEASE_SECONDS": str(LEASE_SECONDS),
    # A stream whose chat replica died ends with run_lost after this much silence.
    "GATEWAY_TUNING__SSE_RUN_CHECK": "2",
    # A webhook whose billing replica was killed mid-delivery goes to the other one this soon.
    "BILLING_TUNING__WEBHOOK_ACK_WAIT": "10",
    # Runs long enough to be mid-stream when a test kills their replica.
    "CHAT_TUNING__BUILTIN_TOKEN_DELAY": "0.1",
}
TERMINAL = frozenset({"final", "error"})
OUTBOXES = {"auth": AUTH_EVENTS.name, "billing": BILLING_EVENTS.name, "chat": CHAT_EVENTS.name}
"""Each service's outbox schema, and the stream its relay publishes to."""
POLL = 0.5
"""Between looks that cost a process (psql) or connections, so polling adds little load."""


def gateway_urls(cluster: Stack) -> list[str]:
    """The URLs of the gateway replicas, first replica first."""
    return [process["url"] for _, process in sorted(cluster.replicas("gateway").items())]


@dataclass(frozen=True)
class Member:
    """A tenant's owner, just signed up."""

    tenant_id: str
    email: str
    headers: dict[str, str]


def sign_up(gateway: str, email: str) -> Member:
    registered = httpx.post(
        f"{gateway}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "tenant_name": email.split("@", maxsplit=1)[0]},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    bearer = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    return Member(body["tenant"]["id"], email, bearer)


def log_lines(cluster: Stack, name: str) -> list[dict[str, Any]]:
    """The JSON lines of process ``name``'s log."""
    lines = []
    for raw in cluster.log(name).splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


def chat_stream(
    gateway: str, headers: dict[str, str], message: str, **body: Any
) -> list[dict[str, Any]]:
    """One chat stream read to its end: its frames as ``{"event", "data"}``."""
    with (
        httpx.Client(base_url=gateway, timeout=60) as client,
        client.stream(
            "POST", "/api/v1/chat/stream", json={"message": message, **body}, headers=headers
        ) as reply,
    ):
        assert reply.status_code == 200, reply.read()
        return [{"event": frame.event, "data": frame.data} for frame in read_sse(reply)]


def one_terminal_frame(frames: list[dict[str, Any]]) -> str:
    """The stream's one terminal event (``final`` or ``error``), last; fails otherwise."""
    names = [frame["event"] for frame in frames]
    terminal = [name for name in names if name in TERMINAL]
    assert len(terminal) == 1 and names[-1] == terminal[0], names
    return terminal[0]


# ------------------------------------------------------------------ the JetStream cluster
async def connect_to_bus(cluster: Stack) -> nats.NATS:
    """The harness's connection, with every node's address: one node down does not cut it."""
    harness = urlsplit(cluster.state["urls"]["NATS_URL"])
    credentials = harness.netloc.rpartition("@")[0]
    servers = [
        f"{harness.scheme}://{credentials}@{info['host']}:{info['port']}"
        for name, info in sorted(cluster.state["servers"].items())
        if name.startswith("nats-")
    ]
    return await nats.connect(servers=servers, connect_timeout=5)


def node_names(cluster: Stack) -> dict[str, str]:
    """The nodes by the name JetStream knows them (``agentbus-dev-<port>``): ``nats-<n>``."""
    return {
        f"agentbus-dev-{info['port']}": name
        for name, info in cluster.state["servers"].items()
        if name.startswith("nats-")
    }


def meta_group(cluster: Stack, node: str) -> dict[str, Any]:
    """The JetStream meta group as ``node`` (``nats-<n>``) sees it (its ``/jsz``)."""
    url = cluster.state["servers"][node]["monitor_url"]
    return dict(httpx.get(f"{url}/jsz", timeout=5).json().get("meta_cluster") or {})


def meta_leader(cluster: Stack) -> str | None:
    """The node every running node names as meta leader (``nats-<n>``), or None."""
    names = node_names(cluster)
    leaders = set()
    for node in names.values():
        try:
            leaders.add(meta_group(cluster, node).get("leader"))
        except httpx.HTTPError:
            continue
    found = leaders.pop() if len(leaders) == 1 else None
    return names.get(found) if found else None


async def stream_placement(cluster: Stack, name: str) -> tuple[str | None, list[str]]:
    """The stream's leader node and its current followers (``nats-<n>``)."""
    names = node_names(cluster)
    connection = await connect_to_bus(cluster)
    try:
        info = await connection.jetstream().stream_info(name)
    finally:
        await connection.close()
    assert info.cluster is not None, name
    current = [names.get(p.name, p.name) for p in info.cluster.replicas or [] if p.current]
    return names.get(info.cluster.leader or ""), current


def whole_cluster(cluster: Stack) -> bool:
    """Every node a current peer of the meta group, every stream and bucket with a leader and
    two current followers."""
    leader = meta_leader(cluster)
    if leader is None:
        return False
    peers = meta_group(cluster, leader).get("replicas") or []
    if len(peers) != 2 or not all(p.get("current") and not p.get("offline") for p in peers):
        return False
    names = [s.name for s in STREAMS] + [f"KV_{b.name}" for b in BUCKETS]
    placements = [asyncio.run(stream_placement(cluster, name)) for name in names]
    return all(leader and len(current) == 2 for leader, current in placements)


async def message_ids(cluster: Stack, stream: str) -> Counter[str]:
    """How often each ``Nats-Msg-Id`` is stored in ``stream``."""
    connection = await connect_to_bus(cluster)
    try:
        js = connection.jetstream()
        info = await js.stream_info(stream)
        ids: Counter[str] = Counter()
        if not info.state.messages:
            return ids
        # Unacknowledged: an acknowledging consumer stops at its max_ack_pending (1000).
        subscription = await js.pull_subscribe(
            info.config.subjects[0], stream=stream, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
        )
        # On a cluster the new consumer answers fetches only once it has a leader of its own;
        # a fetch before that gets 503 "no responders".
        name = (await subscription.consumer_info()).name
        await eventually(
            lambda: _consumer_led(js, stream, name), what=f"{stream} consumer {name} led"
        )
        pending = info.state.messages
        while pending:
            batch = await subscription.fetch(500, timeout=10)
            ids.update((m.headers or {}).get("Nats-Msg-Id", "") for m in batch)
            pending = batch[-1].metadata.num_pending
        await subscription.unsubscribe()
        return ids
    finally:
        await connection.close()


async def _consumer_led(js: JetStreamContext, stream: str, name: str) -> bool:
    info = await js.consumer_info(stream, name)
    return info.cluster is not None and info.cluster.leader is not None


def each_event_stored_once(cluster: Stack) -> dict[str, int]:
    """Wait until every outbox is relayed; check each event is in its stream exactly once
    (``Nats-Msg-Id`` = event id). How many events each outbox holds."""
    relayed = {}
    for schema, stream in OUTBOXES.items():
        events = eventually_blocking(
            lambda schema=schema: _relayed(cluster, schema),
            what=f"{schema}'s outbox relayed",
            interval=POLL,
        )
        stored = asyncio.run(message_ids(cluster, stream))
        twice = {msg_id: count for msg_id, count in stored.items() if count > 1}
        assert not twice, (stream, twice)
        assert events <= set(stored), (stream, events - set(stored))
        relayed[schema] = len(events)
    return relayed


def _relayed(cluster: Stack, schema: str) -> set[str] | None:
    """The ids of ``schema``'s outbox once every row is published."""
    rows = cluster.psql(f"SELECT id, published_at IS NOT NULL FROM {schema}.outbox")
    return {row[0] for row in rows} if all(row[1] == "t" for row in rows) else None
