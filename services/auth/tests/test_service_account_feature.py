"""Creating service accounts needs the tenant's features to include ``service_accounts``."""

from __future__ import annotations

from auth_support import AuthClient
from faststream.nats import NatsBroker

from agentbus_shared.testing.entitlements import publish_features

ACCOUNT = {"name": "ci-bot", "scopes": ["conversations:read"]}


async def test_a_tenant_without_the_feature_cannot_create_a_service_account(
    client: AuthClient, broker: NatsBroker
) -> None:
    owner = await client.register()
    await publish_features(broker.connection.jetstream(), owner.tenant_id, "chat")

    refused = await client.error("service_accounts.create", ACCOUNT, token=owner.access_token)
    listed = await client.call("service_accounts.list", token=owner.access_token)

    assert (refused.status, refused.code) == (403, "feature_not_in_plan")
    assert refused.details == {"feature": "service_accounts", "plan": "free"}
    assert listed.data["items"] == []


async def test_an_operators_override_lets_the_tenant_create_one(
    client: AuthClient, broker: NatsBroker
) -> None:
    owner = await client.register()
    jetstream = broker.connection.jetstream()
    await publish_features(jetstream, owner.tenant_id, "chat")
    await client.error("service_accounts.create", ACCOUNT, token=owner.access_token)

    # what billing publishes once an operator turns the feature on for the tenant
    await publish_features(jetstream, owner.tenant_id, "chat", "service_accounts")
    created = await client.call("service_accounts.create", ACCOUNT, token=owner.access_token)

    assert created.status == 201
    assert created.data["name"] == "ci-bot"


async def test_a_tenant_billing_has_not_published_yet_has_the_free_plans_features(
    client: AuthClient,
) -> None:
    owner = await client.register()

    created = await client.call("service_accounts.create", ACCOUNT, token=owner.access_token)

    assert created.status == 201
