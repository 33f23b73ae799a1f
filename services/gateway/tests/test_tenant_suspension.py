"""A suspended tenant at the gateway: every token of it refused with 403 ``tenant_suspended``
(at once when the suspension came through this gateway), its open streams ended, operators
never refused, reactivation restoring access, Redis out of reach failing closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import redis.asyncio as aioredis
from gateway_support import (
    FakeAuth,
    Payload,
    RunningGateway,
    SpawnFake,
    StartGateway,
    TokenFactory,
    last_event,
)
from nats.aio.msg import Msg

from agentbus_gateway.lifetimes import SessionEnds
from agentbus_gateway.revocation import RevokedSessions
from agentbus_gateway.sse import Inbox
from agentbus_gateway.suspension import STATUS_AT_PREFIX, SuspendedTenants
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.contracts.platform import TenantReactivated, TenantSuspended
from agentbus_shared.servers import free_port
from agentbus_shared.testing.waiting import eventually

ME = "/api/v1/auth/me"
TENANT = "/api/v1/tenants/current"
BILLING = "/api/v1/billing/stream"
MEMBER_SCOPES = "tenant:read billing:read conversations:read"


def member(tokens: TokenFactory, tenant: str = "t_acme", **claims: Any) -> dict[str, str]:
    return tokens.bearer(tid=tenant, scope=MEMBER_SCOPES, **claims)


async def announce(fake_auth: FakeAuth, tenant: str, *, suspended: bool, at: datetime) -> None:
    """Publish what auth publishes when an operator suspends or reactivates ``tenant``."""
    data = (
        TenantSuspended(tenant_id=tenant, reason="unpaid", suspended_by="u_op", suspended_at=at)
        if suspended
        else TenantReactivated(tenant_id=tenant, reactivated_by="u_op", reactivated_at=at)
    )
    await fake_auth.runtime.publisher.publish(make_event(data, tenant_id=tenant))


async def status_of(client: httpx.AsyncClient, headers: dict[str, str], expected: int) -> bool:
    return (await client.get(ME, headers=headers)).status_code == expected


async def test_a_suspended_tenants_tokens_are_refused_until_it_is_reactivated(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    user = member(tokens)
    robot = member(tokens, sub="sa_1", sid="sa_1", typ="service_account", roles=[])
    operator = tokens.bearer(tid="t_acme")  # holds platform:operate
    # A service account is never let through as an operator, whatever its token's scopes say.
    robot_operator = tokens.bearer(tid="t_acme", sub="sa_2", sid="sa_2", typ="service_account")
    neighbour = member(tokens, tenant="t_other")
    assert (await client.get(ME, headers=user)).status_code == 200
    await announce(fake_auth, "t_acme", suspended=True, at=datetime.now(UTC))

    await eventually(lambda: status_of(client, user, 403), what="the suspension", timeout=5)
    refused = await client.get(TENANT, headers=robot)
    assert (refused.status_code, refused.json()["code"]) == (403, "tenant_suspended")
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(ME, headers=operator)).status_code == 200
    assert (await client.get(TENANT, headers=robot_operator)).json()["code"] == "tenant_suspended"
    assert (await client.get(ME, headers=neighbour)).status_code == 200

    await announce(fake_auth, "t_acme", suspended=False, at=datetime.now(UTC))
    await eventually(lambda: status_of(client, user, 200), what="the reactivation", timeout=5)
    assert (await client.get(TENANT, headers=robot)).status_code == 200


SUSPENDED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def operator_answers(spawn_fake: SpawnFake) -> None:
    """Auth's answers to an operator's suspend and reactivate (the tenant's page, its moment of
    suspension written as auth's JSON writes it)."""

    def page(status: str) -> Any:
        async def answer(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
            moment = SUSPENDED_AT.isoformat().replace("+00:00", "Z")
            return {"id": body["tenant_id"], "status": status} | (
                {"suspended_at": moment} if status == "suspended" else {}
            )

        return answer

    await spawn_fake(
        "auth",
        {
            "platform.tenants.suspend": page("suspended"),
            "platform.tenants.reactivate": page("active"),
        },
    )


async def test_a_suspension_through_the_gateway_refuses_the_very_next_request(
    start_gateway: StartGateway,
    fake_auth: FakeAuth,
    spawn_fake: SpawnFake,
    tokens: TokenFactory,
    redis_client: aioredis.Redis,
) -> None:
    await operator_answers(spawn_fake)
    operator = tokens.bearer(tid="t_ops")
    user = member(tokens, tenant="t_target")
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=user) as stream,
    ):
        assert stream.status_code == 200
        # The fake auth publishes no event: only the gateway's own record can refuse it.
        suspended = await gw.client.post(
            "/api/v1/platform/tenants/t_target/suspend", json={"reason": "fraud"}, headers=operator
        )
        assert suspended.status_code == 200, suspended.text
        refused = await gw.client.get(ME, headers=user)
        ended = await last_event(stream)
        # Applied by the events' newest-wins rule, with the answer's moment of suspension.
        applied_at = await redis_client.get(STATUS_AT_PREFIX + "t_target")
        assert applied_at == str(int(SUSPENDED_AT.timestamp() * 1000)).encode()
        reactivated = await gw.client.post(
            "/api/v1/platform/tenants/t_target/reactivate", headers=operator
        )
        assert reactivated.status_code == 200
        admitted = await gw.client.get(ME, headers=user)
    assert (refused.status_code, refused.json()["code"]) == (403, "tenant_suspended")
    assert ended["event"] == "error"
    assert ended["data"]["code"] == "tenant_suspended"
    assert admitted.status_code == 200


async def test_the_suspension_event_ends_the_tenants_open_streams(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=member(tokens, tenant="t_streams")) as stream,
    ):
        assert stream.status_code == 200
        await announce(fake_auth, "t_streams", suspended=True, at=datetime.now(UTC))
        ended = await last_event(stream)
    assert ended["data"]["code"] == "tenant_suspended"


async def test_the_replicas_hear_a_suspension_without_answering_its_publisher(
    client: httpx.AsyncClient, tokens: TokenFactory, nats_url: str
) -> None:
    """Auth publishes to JetStream with a request: only the stream may answer it. An answer
    from the replicas' own subscription could reach auth ahead of the acknowledgement."""
    connection = await nats.connect(nats_url)
    answers: list[bytes] = []
    inbox = connection.new_inbox()

    async def note(msg: Msg) -> None:
        answers.append(msg.data)

    await connection.subscribe(inbox, cb=note)
    try:
        async with client.stream("GET", BILLING, headers=member(tokens, "t_watched")) as stream:
            assert stream.status_code == 200
            for tenant in ("t_first", "t_watched"):  # heard in this order by each replica
                event = make_event(
                    TenantSuspended(
                        tenant_id=tenant,
                        reason="x",
                        suspended_by="u_op",
                        suspended_at=datetime.now(UTC),
                    ),
                    tenant_id=tenant,
                )
                await connection.publish(event.nats_subject, event.to_bytes(), reply=inbox)
            assert (await last_event(stream))["data"]["code"] == "tenant_suspended"
        await eventually(lambda: _count(answers, 2), what="the stream's acknowledgements")
        await connection.flush()
    finally:
        await connection.close()
    assert all(json.loads(answer).get("stream") for answer in answers), answers


async def _count(answers: list[bytes], expected: int) -> bool:
    return len(answers) >= expected


async def test_a_late_suspension_never_undoes_a_later_reactivation(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    tenants = SuspendedTenants(redis_client)
    now = datetime.now(UTC)
    reactivated = TenantReactivated(tenant_id="t_late", reactivated_by="u_op", reactivated_at=now)
    earlier = TenantSuspended(
        tenant_id="t_late",
        reason="x",
        suspended_by="u_op",
        suspended_at=now - timedelta(seconds=1),
    )
    await tenants.on_reactivated(make_event(reactivated, tenant_id="t_late"))
    await tenants.on_suspended(make_event(earlier, tenant_id="t_late"))
    assert not await tenants.is_suspended("t_late")


async def test_a_held_up_answer_never_suspends_a_tenant_reactivated_since(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    """One operator's suspension answered late, after another operator reactivated the
    tenant and the gateway heard it: the answer's older suspension is not applied."""
    tenants = SuspendedTenants(redis_client)
    suspended_at = datetime.now(UTC)
    reactivated = TenantReactivated(
        tenant_id="t_held",
        reactivated_by="u_op",
        reactivated_at=suspended_at + timedelta(milliseconds=5),
    )
    await tenants.on_reactivated(make_event(reactivated, tenant_id="t_held"))
    await tenants.apply_now("t_held", suspended=True, at=suspended_at)
    assert not await tenants.is_suspended("t_held")
    await tenants.apply_now("t_held", suspended=True, at=suspended_at + timedelta(seconds=1))
    assert await tenants.is_suspended("t_held")


async def test_a_suspensions_event_after_a_quick_reactivation_changes_nothing(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    """Suspended from the answer, reactivated from the next answer, then the suspension's own
    event is consumed: the tenant stays active."""
    tenants = SuspendedTenants(redis_client)
    at = datetime.now(UTC)
    await tenants.apply_now("t_quick", suspended=True, at=at)
    await tenants.apply_now("t_quick", suspended=False)
    event = TenantSuspended(tenant_id="t_quick", reason="x", suspended_by="u_op", suspended_at=at)
    await tenants.on_suspended(make_event(event, tenant_id="t_quick"))
    assert not await tenants.is_suspended("t_quick")


async def test_a_suspension_heard_after_the_reactivation_ends_no_stream_opened_since(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    tenants = SuspendedTenants(redis_client)
    ends = SessionEnds(RevokedSessions(redis_client), tenants)
    now = datetime.now(UTC)
    opened_since = Inbox(4)
    ends.watch(opened_since, session_id=None, until=now + timedelta(minutes=5), tenant_id="t_again")
    reactivated = TenantReactivated(tenant_id="t_again", reactivated_by="u_op", reactivated_at=now)
    await tenants.on_reactivated(make_event(reactivated, tenant_id="t_again"))

    def suspension(at: datetime) -> CloudEvent[TenantSuspended]:
        data = TenantSuspended(
            tenant_id="t_again", reason="x", suspended_by="u_op", suspended_at=at
        )
        return make_event(data, tenant_id="t_again")

    await ends.hear_suspension(suspension(now - timedelta(seconds=1)))
    assert opened_since.ending is None
    await ends.hear_suspension(suspension(now + timedelta(seconds=1)))
    assert opened_since.ending is not None
    assert opened_since.ending.data["code"] == "tenant_suspended"


async def test_redis_out_of_reach_fails_closed(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async with start_gateway(redis_url=f"redis://127.0.0.1:{free_port()}/0") as gw:
        response = await gw.client.get(ME, headers=member(tokens))
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
