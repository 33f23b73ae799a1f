"""Background loops with two replicas of every service: each does its work once, not twice.

Billing's meter reporter reports each run's usage to Stripe once (the replicas claim records
with ``SKIP LOCKED``; Stripe counts an identifier once anyway) and its entitlement sync leaves
the ENTITLEMENTS bucket at the database's newest state (one replica writes a tenant at a time);
after a key rotation both auth replicas reload and sign with the new key, and both gateways
accept the tokens either signed; a run's conversation lease is held by one chat replica, and
that of a killed replica is taken over by the other once it runs out, never run twice; and
every outbox relay publishes each event once (``Nats-Msg-Id`` = event id).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

import httpx
import pytest
from cluster_support import (
    LEASE_SECONDS,
    PASSWORD,
    POLL,
    chat_stream,
    connect_to_bus,
    each_event_stored_once,
    gateway_urls,
    log_lines,
    one_terminal_frame,
    sign_up,
)

from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUNS = 4
"""Runs at once of one user, under the per-user cap (5)."""


# ------------------------------------------------------------------ billing's loops
def _subscribe_to_starter(cluster: Stack, gateway: str, headers: dict[str, str]) -> None:
    """Check out the starter plan and pay at the Stripe stand-in; wait until billing applied it."""
    started = httpx.post(
        f"{gateway}/api/v1/billing/subscription",
        json={"plan": "starter"},
        headers=headers,
        timeout=30,
    )
    assert started.status_code == 201, started.text
    session_id = started.json()["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
    standin = cluster.state["companions"]["stripe-standin"]["url"]
    paid = httpx.post(f"{standin}/_standin/checkout/sessions/{session_id}/complete", timeout=30)
    assert paid.status_code == 200, paid.text

    def starter() -> bool:
        found = httpx.get(f"{gateway}/api/v1/billing/subscription", headers=headers, timeout=30)
        return found.status_code == 200 and found.json().get("plan") == "starter"

    eventually_blocking(starter, what="the checkout applied", timeout=60)


def _entitlements(cluster: Stack, tenant_id: str) -> Entitlements:
    async def read() -> Entitlements:
        connection = await connect_to_bus(cluster)
        try:
            bucket = await connection.jetstream().key_value(ENTITLEMENTS.name)
            entry = await bucket.get(tenant_id)
            return Entitlements.model_validate_json(entry.value or b"")
        finally:
            await connection.close()

    return asyncio.run(read())


def test_usage_is_reported_to_stripe_once_and_entitlements_follow_the_newest_usage(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    member = sign_up(gateways[0], "metered@example.com")
    _subscribe_to_starter(cluster, gateways[1], member.headers)

    async def chat() -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=member.headers, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(f"{gateways[n % 2]}/api/v1/chat", json={"message": f"Hello {n}"})
                    for n in range(RUNS)
                )
            )

    for reply in asyncio.run(chat()):
        assert reply.status_code == 200, reply.text
    tenant = member.tenant_id
    runs = {
        row[0]
        for row in cluster.psql(
            f"SELECT id FROM chat.runs WHERE tenant_id = '{tenant}' AND status = 'completed'"
        )
    }
    assert len(runs) == RUNS

    def all_reported() -> list[list[str]] | None:
        rows = cluster.psql(
            "SELECT event_id, report_status, report_attempts FROM billing.usage_records "
            f"WHERE tenant_id = '{tenant}'",
        )
        every_run = {row[0] for row in rows} == runs  # the usage of each run has arrived
        return rows if every_run and all(row[1] != "pending" for row in rows) else None

    records = eventually_blocking(
        all_reported, what="every run's usage reported", timeout=60, interval=POLL
    )
    assert {(row[1], row[2]) for row in records} == {("reported", "1")}, records
    standin = cluster.state["companions"]["stripe-standin"]["url"]
    reported = httpx.get(f"{standin}/_standin/meter_events", timeout=30).json()["data"]
    ours = [e["identifier"] for e in reported if e["identifier"].split(":")[0] in runs]
    assert sorted(ours) == sorted(
        f"{run}:{meter}" for run in runs for meter in ("messages", "tokens")
    )

    def caught_up() -> Entitlements | None:
        marks = cluster.psql(
            f"SELECT 1 FROM billing.entitlements_pending WHERE tenant_id = '{tenant}'"
        )
        found = _entitlements(cluster, tenant)
        return found if not marks and found.used["messages"] == RUNS else None

    entitlements = eventually_blocking(
        caught_up, what="the bucket at the newest usage", interval=POLL
    )
    assert entitlements.plan == "starter"


# ------------------------------------------------------------------ auth's key reload
def _kid(token: str) -> str:
    header = token.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_after_a_key_rotation_both_replicas_sign_with_the_new_key_and_both_gateways_accept_it(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    member = sign_up(gateways[0], "rotation@example.com")
    rotated = cluster.agentbus("auth", "keys", "rotate", "--force")
    active = next(line.split()[1] for line in rotated.splitlines() if line.startswith("active:"))

    def loaded_everywhere() -> bool:
        return all(
            any(
                line.get("event") == "keys.loaded" and line.get("active") == active
                for line in log_lines(cluster, name)
            )
            for name in cluster.replicas("auth")
        )

    eventually_blocking(loaded_everywhere, what=f"both auth replicas signing with {active}")
    tokens = []
    for n in range(8):
        login = httpx.post(
            f"{gateways[n % 2]}/api/v1/auth/token",
            json={"email": member.email, "password": PASSWORD},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        tokens.append(login.json()["access_token"])
    assert {_kid(token) for token in tokens} == {active}
    signed_before = member.headers["Authorization"].removeprefix("Bearer ")
    for token in [signed_before, *tokens]:
        for gateway in gateways:
            me = httpx.get(
                f"{gateway}/api/v1/auth/me",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert me.status_code == 200, (gateway, _kid(token), me.text)


# ------------------------------------------------------------------ chat's run leases
def _runs_of(cluster: Stack, conversation: str) -> list[list[str]]:
    return cluster.psql(
        "SELECT id, status, instance FROM chat.runs "
        f"WHERE conversation_id = '{conversation}' ORDER BY started_at",
    )


def test_a_killed_replicas_run_lease_is_taken_over_by_the_other_not_run_twice(
    cluster: Stack,
) -> None:
    gateways = gateway_urls(cluster)
    member = sign_up(gateways[0], "leases@example.com")
    first = chat_stream(gateways[0], member.headers, "Hello there")
    conversation = first[0]["data"]["conversation_id"]
    frames: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: frames.extend(
            chat_stream(
                gateways[1], member.headers, "Tell me a long story.", conversation_id=conversation
            )
        )
    )
    reader.start()

    def running() -> list[str] | None:
        rows = [row for row in _runs_of(cluster, conversation) if row[1] == "running"]
        return rows[0] if rows else None

    run_id, _, instance = eventually_blocking(running, what="the second run under way")
    owner = instance.removeprefix("dev-")
    survivor = next(name for name in cluster.replicas("chat") if name != owner)
    cluster.hold_down(owner)
    old_pid = cluster.kill(owner)
    try:
        reader.join(60)
        assert not reader.is_alive(), "the stream of the killed replica's run never ended"
        assert one_terminal_frame(frames) == "error", frames[-1]
        assert frames[-1]["data"]["code"] == "run_lost", frames[-1]

        def lease_free() -> bool:
            return cluster.psql(
                "SELECT 1 FROM chat.conversations WHERE id = "
                f"'{conversation}' AND (active_run_id IS NULL OR lease_expires_at < now())",
            ) == [["1"]]

        eventually_blocking(
            lease_free,
            what="the lease released or run out",
            timeout=3 * LEASE_SECONDS,
            interval=POLL,
        )
        taken_over = chat_stream(
            gateways[0], member.headers, "Are you still there?", conversation_id=conversation
        )
        assert one_terminal_frame(taken_over) == "final", taken_over[-1]
    finally:
        cluster.release(owner)
    cluster.wait_restarted(owner, old_pid)

    runs = _runs_of(cluster, conversation)
    assert [row[1] for row in runs] == ["completed", "interrupted", "completed"], runs
    assert runs[1] == [run_id, "interrupted", instance]
    assert runs[2][2] == f"dev-{survivor}", runs


# ------------------------------------------------------------------ outbox relays
def test_every_outbox_relay_publishes_each_event_once(cluster: Stack) -> None:
    """Events written through both replicas of every service (a sign-up and a chat run through
    each gateway, besides what the tests above wrote) are each stored once on their stream."""
    for n, gateway in enumerate(gateway_urls(cluster)):
        member = sign_up(gateway, f"outbox-{n}@example.com")
        assert one_terminal_frame(chat_stream(gateway, member.headers, "Hello")) == "final"
    relayed = each_event_stored_once(cluster)
    assert all(relayed.values()), f"an outbox relayed nothing: {relayed}"
    print("events relayed from each outbox, each stored once:", relayed)
