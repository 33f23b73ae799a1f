"""Rate limits: exact counts per IP, user and tenant, the draft headers, and Redis outages."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from gateway_support import FakeAuth, FakeService, StartGateway, TokenFactory

from agentbus_gateway.context import client_ip
from agentbus_shared.servers import free_port

TENANT = "/api/v1/tenants/current"
PLANS = "/api/v1/billing/plans"


def limits(**groups: dict[str, tuple[int, float]]) -> dict[str, Any]:
    return {
        group: {dim: {"limit": q[0], "window": q[1]} for dim, q in dims.items()}
        for group, dims in groups.items()
    }


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "tuning": {
            "rate_limits": limits(
                authenticated={"user": (3, 60), "tenant": (5, 60)},
                anonymous={"ip": (4, 60)},
                strict={"ip": (2, 60)},
            )
        }
    }


async def test_limit_trips_at_exactly_the_configured_count(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    headers = tokens.bearer(sub="u_alice")
    answers = [await client.get(TENANT, headers=headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-policy"] == (
        '"authenticated-user";q=3;w=60, "authenticated-tenant";q=5;w=60'
    )
    assert [r.headers["ratelimit"].split(",")[0] for r in answers[:3]] == [
        '"authenticated-user";r=2;t=20',
        '"authenticated-user";r=1;t=40',
        '"authenticated-user";r=0;t=60',
    ]
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert refused.headers["ratelimit"].startswith('"authenticated-user";r=0;')


async def test_tenant_bucket_is_shared_by_its_users(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    statuses = []
    for user in ("u_1", "u_1", "u_2", "u_2", "u_3", "u_3"):
        response = await client.get(TENANT, headers=tokens.bearer(sub=user))
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 200, 429]
    other_tenant = await client.get(TENANT, headers=tokens.bearer(sub="u_9", tid="t_other"))
    assert other_tenant.status_code == 200


async def test_refused_request_costs_nothing_in_the_other_buckets(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    for _ in range(3):
        assert (await client.get(TENANT, headers=tokens.bearer(sub="u_1"))).status_code == 200
    for _ in range(3):  # refused by u_1's bucket: the tenant's bucket must not be charged
        assert (await client.get(TENANT, headers=tokens.bearer(sub="u_1"))).status_code == 429
    assert (await client.get(TENANT, headers=tokens.bearer(sub="u_2"))).status_code == 200
    assert (await client.get(TENANT, headers=tokens.bearer(sub="u_2"))).status_code == 200


async def test_anonymous_routes_are_limited_per_client_ip(
    client: httpx.AsyncClient, fake_billing: FakeService
) -> None:
    statuses = [(await client.get(PLANS)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


async def test_login_has_a_stricter_bucket(client: httpx.AsyncClient) -> None:
    body = {"email": "ann@example.com", "password": "guess"}
    statuses = [(await client.post("/api/v1/auth/token", json=body)).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    limited = await client.post("/api/v1/auth/token", json=body)
    assert limited.headers["ratelimit-policy"] == '"strict-ip";q=2;w=60'


async def test_redis_down_refuses_limited_routes_but_not_health(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async with start_gateway(redis_url=f"redis://127.0.0.1:{free_port()}/0") as gw:
        api = await gw.client.get(TENANT, headers=tokens.bearer())
        health = await gw.client.get("/health")
    assert api.status_code == 503
    assert api.json()["code"] == "service_unavailable"
    assert "retry-after" in api.headers
    assert health.status_code == 200


async def test_health_fails_closed_when_configured(
    start_gateway: StartGateway, fake_auth: FakeAuth
) -> None:
    async with start_gateway(
        redis_url=f"redis://127.0.0.1:{free_port()}/0", tuning={"rate_limit_fail_open_edge": False}
    ) as gw:
        assert (await gw.client.get("/health")).status_code == 503


TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer cannot claim an address
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),  # spoofed left part
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "10.0.0.5", "10.0.0.5"),
        ("10.0.0.2", "garbage", "10.0.0.2"),
    ],
)
def test_client_ip_comes_from_forwarded_for_only_through_trusted_proxies(
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(
        TENANT, headers={**tokens.bearer(), "X-Forwarded-For": "198.51.100.7"}
    )
    assert response.json()["meta"]["client_ip"] == "127.0.0.1"


async def test_forwarded_for_through_a_trusted_proxy_is_the_client(
    start_gateway: StartGateway, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async with start_gateway(trusted_proxies=["127.0.0.0/8"]) as gw:
        response = await gw.client.get(
            TENANT, headers={**tokens.bearer(), "X-Forwarded-For": "198.51.100.7"}
        )
    assert response.json()["meta"]["client_ip"] == "198.51.100.7"


async def test_limits_survive_redis_losing_its_scripts(
    client: httpx.AsyncClient, tokens: TokenFactory, redis_client: aioredis.Redis
) -> None:
    assert (await client.get(TENANT, headers=tokens.bearer())).status_code == 200
    await redis_client.script_flush()  # as after a Redis restart
    response = await client.get(TENANT, headers=tokens.bearer())
    assert response.status_code == 200
    assert response.headers["ratelimit"].startswith('"authenticated-user";r=1;')
