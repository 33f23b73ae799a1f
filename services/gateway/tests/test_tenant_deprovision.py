"""A tenant being deprovisioned at the gateway: refused like a suspended one, at once when the
operator's request came through this gateway and on auth's ``tenant.deprovision_requested``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
from gateway_support import FakeAuth, Payload, SpawnFake, StartGateway, TokenFactory, last_event

from agentbus_gateway.suspension import SuspendedTenants
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.platform import TenantDeprovisionRequested, TenantReactivated
from agentbus_shared.testing.waiting import eventually

ME = "/api/v1/auth/me"
BILLING = "/api/v1/billing/stream"
MEMBER_SCOPES = "tenant:read billing:read conversations:read"


def member(tokens: TokenFactory, tenant: str) -> dict[str, str]:
    return tokens.bearer(tid=tenant, scope=MEMBER_SCOPES)


async def refused(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    response = await client.get(ME, headers=headers)
    return (response.status_code, response.json().get("code")) == (403, "tenant_suspended")


async def test_the_deprovision_request_refuses_the_tenants_tokens(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    user = member(tokens, "t_leaving")
    assert (await client.get(ME, headers=user)).status_code == 200
    requested = TenantDeprovisionRequested(
        tenant_id="t_leaving", requested_by="u_op", requested_at=datetime.now(UTC)
    )
    await fake_auth.runtime.publisher.publish(make_event(requested, tenant_id="t_leaving"))

    await eventually(lambda: refused(client, user), what="the tenant refused", timeout=5)
    assert (await client.get(ME, headers=member(tokens, "t_staying"))).status_code == 200


async def test_a_deprovision_through_the_gateway_refuses_the_very_next_request(
    start_gateway: StartGateway, fake_auth: FakeAuth, spawn_fake: SpawnFake, tokens: TokenFactory
) -> None:
    async def page(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        return {"id": body["tenant_id"], "status": "deprovisioning"}

    await spawn_fake("auth", {"platform.tenants.delete": page})
    user = member(tokens, "t_target")
    async with start_gateway() as gw:
        # The fake auth publishes no event: only the gateway's own record can refuse it.
        answer = await gw.client.delete(
            "/api/v1/platform/tenants/t_target", headers=tokens.bearer(tid="t_ops")
        )
        assert answer.status_code == 202, answer.text
        assert await refused(gw.client, user)


async def test_a_reactivation_heard_after_the_deprovision_answer_refuses_still(
    start_gateway: StartGateway,
    fake_auth: FakeAuth,
    spawn_fake: SpawnFake,
    tokens: TokenFactory,
    redis_client: aioredis.Redis,
) -> None:
    """The answer is applied with its request's moment, so an older reactivation's event,
    consumed after it, does not let the tenant's tokens through again."""
    requested_at = datetime.now(UTC)

    async def page(body: Payload, principal: Principal | None, meta: RequestMeta) -> Any:
        return {
            "id": body["tenant_id"],
            "status": "deprovisioning",
            "deprovision_requested_at": requested_at.isoformat(),
        }

    await spawn_fake("auth", {"platform.tenants.delete": page})
    user = member(tokens, "t_back")
    async with start_gateway() as gw:
        answer = await gw.client.delete(
            "/api/v1/platform/tenants/t_back", headers=tokens.bearer(tid="t_ops")
        )
        assert answer.status_code == 202, answer.text
        reactivated = TenantReactivated(
            tenant_id="t_back",
            reactivated_by="u_op",
            reactivated_at=requested_at - timedelta(seconds=1),
        )
        await SuspendedTenants(redis_client).on_reactivated(
            make_event(reactivated, tenant_id="t_back")
        )
        assert await refused(gw.client, user)


async def test_the_deprovision_request_ends_the_tenants_open_streams(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    """Every replica hears the request on its own subscription: none keeps a stream open."""
    async with (
        start_gateway() as gw,
        gw.client.stream("GET", BILLING, headers=member(tokens, "t_streaming")) as stream,
    ):
        assert stream.status_code == 200
        requested = TenantDeprovisionRequested(
            tenant_id="t_streaming", requested_by="u_op", requested_at=datetime.now(UTC)
        )
        await fake_auth.runtime.publisher.publish(make_event(requested, tenant_id="t_streaming"))
        ended = await last_event(stream)
    assert ended["data"]["code"] == "tenant_suspended"
