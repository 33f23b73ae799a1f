"""Redis unavailable: the gateway answers as docs/adr/gateway-rate-limits.md says, then recovers.

Documented: limited routes answer 503 with ``Retry-After``; the gateway's own ``edge`` routes
(health, JWKS) pass without limits (``GATEWAY_TUNING__RATE_LIMIT_FAIL_OPEN_EDGE``, default true) and
``/metrics`` on the internal listener has none. Readiness reports Redis as unavailable, also
in chat (its runs in flight and plan messages are reserved in Redis:
docs/adr/chat-runs-in-flight.md). Once redis-server runs again on its port, every process
reconnects by itself.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fault_support import (
    PASSWORD,
    PROBLEM,
    FaultStack,
    assert_error_answer,
    ready_status,
    send,
    sign_up,
)

from agentbus_shared.testing.waiting import eventually, in_thread

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def _status(client: httpx.Client, method: str, path: str, **kwargs: object) -> int:
    return client.request(method, path, **kwargs).status_code  # type: ignore[arg-type]


@pytest.mark.timeout(180)
async def test_redis_outage_is_503_on_limited_routes_and_recovers(faults: FaultStack) -> None:
    stack = faults.stack
    pids = {name: stack.pid(name) for name in ("gateway", "auth", "billing", "chat")}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        bearer = (await sign_up(client, "redis@example.com", "Redis")).headers

        await asyncio.to_thread(faults.stop_server, "redis")

        # Limited routes, anonymous and authenticated: 503 with Retry-After, at once.
        for method, path, headers in [
            ("GET", "/api/v1/billing/plans", {}),
            ("GET", "/api/v1/auth/me", bearer),
            ("GET", "/api/v1/billing/subscription", bearer),
        ]:
            answer = await send(client, path, method, path, headers=headers)
            assert answer.seconds < 10, answer
            assert_error_answer(answer, allowed=(503,))
        login = await send(
            client,
            "login",
            "POST",
            "/api/v1/auth/token",
            json={"email": "redis@example.com", "password": PASSWORD},
        )
        assert_error_answer(login, allowed=(503,))

        # Edge routes fail open: liveness and the key set stay up; readiness says why not ready.
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/.well-known/jwks.json")).status_code == 200
        async with httpx.AsyncClient(base_url=stack.gateway_metrics_url, timeout=5) as internal:
            assert (await internal.get("/metrics")).status_code == 200
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == "unavailable"
        for name in ("auth", "billing", "chat"):
            assert ready_status(faults.service_url(name)) == 503

        faults.start_server("redis")

        async def plans_ok() -> bool:
            response = await client.get("/api/v1/billing/plans")
            return response.status_code == 200

        # Recovery without restarting anything: same processes, limits and sessions work again.
        await eventually(plans_ok, what="the gateway recovered from the Redis outage")
        me = await client.get("/api/v1/auth/me", headers=bearer)
        assert me.status_code == 200, me.text
        assert "ratelimit" in {k.lower() for k in me.headers}
        relogin = await client.post(
            "/api/v1/auth/token", json={"email": "redis@example.com", "password": PASSWORD}
        )
        assert relogin.status_code == 200, relogin.text
        forbidden_without_token = await client.get("/api/v1/billing/subscription")
        assert forbidden_without_token.status_code == 401
        assert forbidden_without_token.headers["content-type"].startswith(PROBLEM)
    await eventually(
        in_thread(lambda: ready_status(stack.gateway_url) == 200),
        what="the gateway is ready again",
    )
    for name in ("auth", "billing", "chat"):
        await eventually(
            in_thread(lambda n=name: ready_status(faults.service_url(n)) == 200),
            what=f"{name} is ready again",
        )
    assert {name: stack.pid(name) for name in pids} == pids
