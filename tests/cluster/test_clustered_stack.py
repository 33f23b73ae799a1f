"""The product on a clustered bus with two replicas of every service (``agentbus dev --cluster``).

Through the two gateways and the bus: the three nodes form one JetStream cluster and every
stream and the bucket have three replicas; a burst of signed Stripe webhooks is applied once
each by the two billing replicas sharing one durable consumer; the RPC queue groups spread the
gateways' requests over both auth replicas; chat streams reach their client whichever chat
replica runs them, each with its frames and exactly one terminal event.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import nats
import pytest
from cluster_support import gateway_urls, log_lines, sign_up
from prometheus_client.parser import text_string_to_metric_families

from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.testing.stack import (
    Stack,
    read_sse,
    signed_stripe_event,
    stripe_customer_created,
)
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WEBHOOKS = 20
REQUESTS = 40
STREAM_USERS = 4
STREAMS_PER_USER = 4  # under the per-user caps of open streams and runs (5)
"""16 streams: the queue group picks a chat replica at random, so both run some (but for 2**-15)."""


# ------------------------------------------------------------------ the cluster
def test_three_nodes_form_one_jetstream_cluster_with_three_replicas_of_every_stream(
    cluster: Stack,
) -> None:
    nodes = [info for name, info in sorted(cluster.state["servers"].items()) if "-" in name]
    assert len(nodes) == 3
    names = {f"agentbus-dev-{node['port']}" for node in nodes}

    def meta(node: dict[str, Any]) -> dict[str, Any]:
        return dict(httpx.get(f"{node['monitor_url']}/jsz", timeout=5).json()["meta_cluster"])

    def one_leader() -> str | None:
        leaders = {meta(node).get("leader") for node in nodes}
        return next(iter(leaders)) if len(leaders) == 1 and leaders <= names else None

    leader = eventually_blocking(one_leader, what="one meta leader all three nodes name")
    assert all(meta(node)["cluster_size"] == 3 for node in nodes)

    async def replicas() -> dict[str, tuple[int, str | None, list[str]]]:
        connection = await nats.connect(cluster.state["urls"]["NATS_URL"])
        try:
            js = connection.jetstream()
            found = {}
            for name in [s.name for s in STREAMS] + [f"KV_{b.name}" for b in BUCKETS]:
                info = await js.stream_info(name)
                assert info.cluster is not None, name
                peers = [p.name for p in info.cluster.replicas or [] if p.current]
                found[name] = (info.config.num_replicas or 0, info.cluster.leader, peers)
            return found
        finally:
            await connection.close()

    def all_current() -> dict[str, tuple[int, str | None, list[str]]] | None:
        found = asyncio.run(replicas())
        return found if all(len(peers) == 2 for _, _, peers in found.values()) else None

    streams = eventually_blocking(all_current, what="every stream with two current followers")
    for name, (count, stream_leader, followers) in streams.items():
        assert count == 3, name
        assert {stream_leader, *followers} == names, (name, stream_leader, followers)
    print(f"meta leader {leader}; {len(streams)} streams and buckets at R3")


# ------------------------------------------------------------------ shared durable consumer
def test_a_webhook_burst_is_applied_once_across_the_two_billing_replicas(cluster: Stack) -> None:
    secret = cluster.stripe_webhook_secret()
    gateways = gateway_urls(cluster)
    prefix = "evt_cluster_"

    async def deliver() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def one(i: int) -> int:
                payload, headers = signed_stripe_event(
                    stripe_customer_created(f"{prefix}{i:03d}", f"tnt_cluster_{i:03d}"), secret
                )
                gateway = gateways[i % len(gateways)]
                answer = await client.post(
                    f"{gateway}/webhooks/stripe", content=payload, headers=headers
                )
                return answer.status_code

            return await asyncio.gather(*(one(i) for i in range(WEBHOOKS)))

    assert asyncio.run(deliver()) == [200] * WEBHOOKS

    def all_applied() -> bool:
        rows = cluster.psql(
            "SELECT count(*), count(DISTINCT id), coalesce(max(attempts), 0) "
            f"FROM billing.stripe_events WHERE id LIKE '{prefix}%' AND status = 'processed'",
        )
        return rows == [[str(WEBHOOKS), str(WEBHOOKS), "1"]]

    eventually_blocking(all_applied, what="billing applied the burst, once each", timeout=60)
    outcomes = cluster.psql(
        f"SELECT outcome, count(*) FROM billing.stripe_events WHERE id LIKE '{prefix}%' "
        "GROUP BY outcome",
    )
    assert outcomes == [["applied", str(WEBHOOKS)]]
    customers = cluster.psql(
        "SELECT count(*), count(DISTINCT stripe_customer_id) FROM billing.customers "
        "WHERE tenant_id LIKE 'tnt_cluster_%'",
    )
    assert customers == [[str(WEBHOOKS), str(WEBHOOKS)]]

    # Which replica applied each event: its log says so, and no event is in both logs.
    applied_by = {
        name: [
            line["stripe_event"]
            for line in log_lines(cluster, name)
            if line.get("event") == "stripe.event_applied"
            and str(line.get("stripe_event", "")).startswith(prefix)
        ]
        for name in cluster.replicas("billing")
    }
    everything = [event for events in applied_by.values() for event in events]
    assert len(everything) == WEBHOOKS and len(set(everything)) == WEBHOOKS, applied_by
    print("applied by", {name: len(events) for name, events in applied_by.items()})


# ------------------------------------------------------------------ RPC queue groups
def _handled(url: str, service: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "agentbus_rpc_handled_total" and sample.labels["service"] == service
    )


def test_rpc_queue_groups_spread_the_gateways_requests_over_both_auth_replicas(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    headers = sign_up(gateways[0], "queue-groups@example.com").headers
    auth = {name: process["url"] for name, process in cluster.replicas("auth").items()}
    before = {name: _handled(url, "auth") for name, url in auth.items()}

    async def ask() -> list[int]:
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            answers = await asyncio.gather(
                *(
                    client.get(f"{gateways[i % len(gateways)]}/api/v1/auth/me")
                    for i in range(REQUESTS)
                )
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(ask()) == [200] * REQUESTS
    handled = {name: _handled(url, "auth") - before[name] for name, url in auth.items()}
    print("auth RPCs handled per replica:", handled)
    assert len(handled) == 2
    assert all(count > 0 for count in handled.values()), handled
    assert sum(handled.values()) >= REQUESTS, handled


# ------------------------------------------------------------------ chat streams
def test_chat_streams_reach_their_client_whichever_chat_replica_runs_them(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    users = [sign_up(gateways[0], f"streams-{n}@example.com").headers for n in range(STREAM_USERS)]

    async def stream(gateway: str, headers: dict[str, str], message: str) -> list[Any]:
        def read() -> list[Any]:
            with (
                httpx.Client(base_url=gateway, timeout=60) as client,
                client.stream(
                    "POST", "/api/v1/chat/stream", json={"message": message}, headers=headers
                ) as reply,
            ):
                assert reply.status_code == 200, reply.read()
                return list(read_sse(reply))

        return await asyncio.to_thread(read)

    async def run_all() -> list[list[Any]]:
        return await asyncio.gather(
            *(
                stream(gateways[j % len(gateways)], headers, f"Hello from stream {u}.{j}")
                for u, headers in enumerate(users)
                for j in range(STREAMS_PER_USER)
            )
        )

    streams = asyncio.run(run_all())
    stream_ids = []
    for frames in streams:
        names = [frame.event for frame in frames]
        assert names[0] == "conversation", names
        assert "delta" in names, names
        terminal = [name for name in names if name in {"final", "error"}]
        assert terminal == ["final"] and names[-1] == "final", names
        deltas = "".join(frame.data["text"] for frame in frames if frame.event == "delta")
        assert deltas == frames[-1].data["output"]
        stream_ids.append(frames[0].data["stream_id"])
    assert len(set(stream_ids)) == len(stream_ids)

    ids = ", ".join(f"'{stream_id}'" for stream_id in stream_ids)
    runs = cluster.psql(f"SELECT instance FROM chat.runs WHERE stream_id IN ({ids})")
    by_instance = Counter(row[0] for row in runs)
    print("chat runs per replica:", dict(by_instance))
    assert sum(by_instance.values()) == len(stream_ids)
    assert set(by_instance) == {"dev-chat", "dev-chat-2"}, by_instance
