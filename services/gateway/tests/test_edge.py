"""The gateway's own routes: JWKS copy, health, readiness, metrics, CORS; revoked sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from gateway_support import FakeAuth, FakeService, RunningGateway, StartGateway, TokenFactory
from joserfc.jwk import OKPKey
from pydantic import ValidationError

from agentbus_gateway.revocation import RevokedSessions
from agentbus_gateway.settings import GatewaySettings
from agentbus_shared.testing.waiting import eventually

PRODUCTION_REDIS = "redis://:s3cret-pw@redis:6379/0"
LIVE_WEBHOOK_SECRET = "whsec_Zq3vN8rT1xK5mW7pB2cY9dF4gH6jL0sA"


async def test_jwks_is_served_from_the_cached_copy_with_etag(
    client: httpx.AsyncClient, fake_auth: FakeAuth, signing_key: OKPKey
) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kid"] == signing_key.kid
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert "d" not in key
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert 0 < int(response.headers["cache-control"].rsplit("=", 1)[1]) <= 300
    calls = fake_auth.jwks_calls
    again = await client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert fake_auth.jwks_calls == calls  # answered from the copy


async def test_jwks_without_auth_is_503(start_gateway: StartGateway) -> None:
    async with start_gateway() as gw:
        response = await gw.client.get("/.well-known/jwks.json")
    assert response.status_code == 503


async def test_health_is_ok_while_the_process_lives(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "x-request-id" in response.headers


async def test_ready_names_the_parts_that_are_down(
    client: httpx.AsyncClient, fake_chat: FakeService
) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "unavailable"
    assert report["checks"] == {
        "nats": "ok",
        "redis": "ok",
        "auth": "ok",
        "chat": "ok",
        "billing": "unavailable",
        "signing_keys": "ok",
    }


async def test_not_ready_until_the_signing_keys_are_loaded(start_gateway: StartGateway) -> None:
    async with start_gateway() as gw:  # no auth answers: no key set to verify tokens with
        response = await gw.client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["signing_keys"] == "unavailable"


async def test_ready_when_every_part_answers(
    client: httpx.AsyncClient, fake_chat: FakeService, fake_billing: FakeService
) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_metrics_count_requests_by_route_template_without_ids(
    gateway: RunningGateway, client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    await client.delete("/api/v1/auth/sessions/s_secret_id_123", headers=tokens.bearer())
    await client.get("/no/such/path/u_42")
    text = (await gateway.metrics()).text
    assert (
        'agentbus_http_requests_total{method="DELETE",route="/api/v1/auth/sessions/{session_id}",'
        'status="404"}'
    ) in text
    assert 'route="unmatched"' in text
    assert "s_secret_id_123" not in text
    assert "u_42" not in text
    assert "agentbus_gateway_tokens_rejected_total" in text


async def test_public_port_answers_404_for_metrics_which_the_internal_listener_serves(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    public = await client.get("/metrics")
    assert public.status_code == 404
    assert "agentbus_" not in public.text
    internal = await gateway.metrics()
    assert internal.status_code == 200
    assert internal.headers["content-type"].startswith("text/plain")
    assert "agentbus_gateway_tokens_rejected_total" in internal.text
    assert gateway.app.state.metrics_listener.port != int(gateway.url.rsplit(":", 1)[1])


def test_metrics_port_must_differ_from_the_public_port() -> None:
    with pytest.raises(ValidationError, match="GATEWAY_METRICS_PORT"):
        GatewaySettings(http_port=8000, metrics_port=8000)


async def test_cors_allows_only_the_configured_origins(
    start_gateway: StartGateway, fake_auth: FakeAuth
) -> None:
    async with start_gateway(cors_origins=["https://app.example.com"]) as gw:
        allowed = await gw.client.options(
            "/api/v1/auth/me",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        other = await gw.client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="wildcard"):
        GatewaySettings(cors_origins=["*"], cors_allow_credentials=True)


async def test_revoked_session_is_refused_at_once(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    revoked = tokens.bearer(sid="s_revoked")
    kept = tokens.bearer(sid="s_kept")
    assert (await client.get("/api/v1/auth/me", headers=revoked)).status_code == 200
    await fake_auth.revoke_session("s_revoked")

    async def refusal() -> httpx.Response | None:
        response = await client.get("/api/v1/auth/me", headers=revoked)
        return response if response.status_code == 401 else None

    response = await eventually(refusal, what="the revoked session is refused", timeout=5)
    assert response.json()["code"] == "invalid_token"
    assert (await client.get("/api/v1/auth/me", headers=kept)).status_code == 200


async def test_logout_refuses_the_session_on_the_very_next_request(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    leaving = tokens.bearer(sid="s_leaving")
    other = tokens.bearer(sid="s_other")
    assert (await client.get("/api/v1/auth/me", headers=leaving)).status_code == 200
    # The fake auth publishes no SessionRevoked: only the gateway's own record can refuse it.
    assert (await client.post("/api/v1/auth/logout", headers=leaving)).status_code == 204
    refused = await client.get("/api/v1/auth/me", headers=leaving)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert (await client.get("/api/v1/auth/me", headers=other)).status_code == 200


async def test_ending_a_session_keeps_a_longer_revocation_from_the_event(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    sessions = RevokedSessions(redis_client)
    now = datetime.now(UTC)
    assert await sessions.revoke("s_1", until=now + timedelta(minutes=10))
    assert await sessions.revoke("s_1", until=now + timedelta(seconds=5), keep_existing=True)
    assert await redis_client.pttl(RevokedSessions.key("s_1")) > 60_000


async def test_revocation_already_past_its_tokens_life_is_not_stored(
    gateway: RunningGateway, redis_client: aioredis.Redis
) -> None:
    sessions = RevokedSessions(redis_client)
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert not await sessions.revoke("s_old", until=past)
    assert not await sessions.is_revoked("s_old")
    assert await sessions.revoke("s_new", until=datetime.now(UTC) + timedelta(seconds=60))
    assert 0 < await redis_client.pttl(RevokedSessions.key("s_new")) <= 60_000


def test_production_refuses_the_development_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRETS", raising=False)
    monkeypatch.setenv("REDIS_URL", PRODUCTION_REDIS)
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRETS"):
        GatewaySettings(environment="production")
    # The gateway has no database: an unset DATABASE_URL is no reason to refuse.
    settings = GatewaySettings(environment="production", stripe_webhook_secrets=LIVE_WEBHOOK_SECRET)
    assert settings.webhook_secrets() == [LIVE_WEBHOOK_SECRET]


def test_production_refuses_a_development_secret_among_the_webhook_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", PRODUCTION_REDIS)
    secrets = f"{LIVE_WEBHOOK_SECRET},dev-insecure-stripe-webhook-secret"
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRETS"):
        GatewaySettings(environment="production", stripe_webhook_secrets=secrets)


def test_production_refuses_a_catch_all_trusted_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", PRODUCTION_REDIS)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRETS", LIVE_WEBHOOK_SECRET)
    for catch_all in (["0.0.0.0/0"], ["10.0.0.0/8", "::/0"], ["0.0.0.0/1", "128.0.0.0/1"]):
        with pytest.raises(ValidationError, match="GATEWAY_TRUSTED_PROXIES"):
            GatewaySettings(environment="production", trusted_proxies=catch_all)
    settings = GatewaySettings(environment="production", trusted_proxies=["10.0.0.0/8"])
    assert [str(n) for n in settings.proxy_networks()] == ["10.0.0.0/8"]
