"""Routes that need a feature: refused at the edge (403 feature_not_in_plan) from the ENTITLEMENTS
bucket, before the service is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import nats
import pytest
from gateway_support import FakeService, SpawnFake, TokenFactory

from agentbus_shared.testing.entitlements import publish_features as publish_entitlements

CREATE = "/api/v1/auth/service-accounts"
BODY = {"name": "ci-bot", "scopes": ["conversations:read"]}

PublishFeatures = Callable[..., Awaitable[None]]


@pytest.fixture
async def fake_accounts(spawn_fake: SpawnFake) -> FakeService:
    """Auth's service-account operations, echoing what they are sent."""
    return await spawn_fake(
        "auth", {"service_accounts.create": None, "service_accounts.list": None}
    )


@pytest.fixture
async def publish_features(nats_url: str) -> AsyncIterator[PublishFeatures]:
    """``await publish_features(tenant, *features)``: the tenant's entitlements in the bucket,
    as billing writes them."""
    connection = await nats.connect(nats_url)

    async def publish(tenant_id: str, *features: str) -> None:
        await publish_entitlements(connection.jetstream(), tenant_id, *features)

    yield publish
    await connection.close()


async def test_a_route_is_refused_when_the_tenants_features_lack_its_feature(
    client: httpx.AsyncClient,
    tokens: TokenFactory,
    fake_accounts: FakeService,
    publish_features: PublishFeatures,
) -> None:
    await publish_features("t_acme", "chat")

    refused = await client.post(CREATE, json=BODY, headers=tokens.bearer(tid="t_acme"))
    listed = await client.get(CREATE, headers=tokens.bearer(tid="t_acme"))

    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "feature_not_in_plan"
    assert refused.json()["details"] == {"feature": "service_accounts", "plan": "free"}
    assert listed.status_code == 200, "routes without a feature stay open"
    assert [name for name, _ in fake_accounts.calls] == ["service_accounts.list"]


async def test_a_route_passes_when_the_tenants_features_include_it(
    client: httpx.AsyncClient,
    tokens: TokenFactory,
    fake_accounts: FakeService,
    publish_features: PublishFeatures,
) -> None:
    await publish_features("t_plus", "chat", "service_accounts")

    allowed = await client.post(CREATE, json=BODY, headers=tokens.bearer(tid="t_plus"))
    unknown = await client.post(CREATE, json=BODY, headers=tokens.bearer(tid="t_fresh"))

    assert allowed.status_code == 201, allowed.text
    assert unknown.status_code == 201, "no entry yet: the free plan's features, which include it"
    assert [name for name, _ in fake_accounts.calls] == ["service_accounts.create"] * 2


async def test_the_api_document_names_the_feature_of_a_route(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    create = document["paths"][CREATE]["post"]

    assert create["x-feature"] == "service_accounts"
    assert "403" in create["responses"]
    assert "feature_not_in_plan" in create["description"]
