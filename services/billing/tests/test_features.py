"""Feature flags: a tenant's plan features, operators' overrides, and the entitlements they publish."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from billing_support import RunningBilling, kv_entitlements, operator, principal
from faststream.nats import NatsBroker

from agentbus_billing.app import BillingParts
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.plans.catalog import load_catalog
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.features import FEATURES_WHEN_UNKNOWN
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.errors import AgentbusError
from agentbus_shared.testing.waiting import eventually

FREE = ["chat", "service_accounts"]


async def new_tenant(billing: RunningBilling, broker: NatsBroker, tenant_id: str) -> None:
    """A tenant billing has put on the free plan (its entitlements are in the bucket)."""
    created = TenantCreated(
        tenant_id=tenant_id, name="Acme", owner_user_id="u_owner", created_at=datetime.now(UTC)
    )
    await billing.publish_event(created, tenant_id=tenant_id)
    await eventually(lambda: kv_entitlements(broker, tenant_id), what="the first entitlements")


async def published_features(broker: NatsBroker, tenant_id: str, expected: list[str]) -> None:
    async def caught_up() -> Entitlements | None:
        found = await kv_entitlements(broker, tenant_id)
        return found if found is not None and found.features == expected else None

    await eventually(caught_up, what=f"features {expected} in the bucket")


async def test_a_tenant_sees_its_plans_features(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await new_tenant(billing, broker, "t_feat")

    reply = await billing.call("features.get", {}, principal("t_feat", Scope.TENANT_READ))

    assert reply.data == {
        "tenant_id": "t_feat",
        "plan": "free",
        "plan_features": FREE,
        "overrides": {},
        "features": FREE,
    }


async def test_overrides_change_the_effective_features_and_the_published_entitlements(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await new_tenant(billing, broker, "t_over")

    chosen = {"service_accounts": False, "research_agent": True}
    reply = await billing.call(
        "features.tenant.set", {"tenant_id": "t_over", "overrides": chosen}, operator()
    )

    assert reply.data["overrides"] == chosen
    assert reply.data["plan_features"] == FREE
    assert reply.data["features"] == ["chat", "research_agent"]
    await published_features(broker, "t_over", ["chat", "research_agent"])
    announced = await billing.sql(
        "SELECT payload FROM billing.outbox "
        "WHERE subject = 'events.billing.t_over.entitlements.updated' ORDER BY created_at DESC"
    )
    event = json.loads(announced[0].payload)
    assert event["data"]["entitlements"]["features"] == ["chat", "research_agent"]
    seen = await billing.call("features.get", {}, principal("t_over", Scope.TENANT_READ))
    assert seen.data["features"] == ["chat", "research_agent"]

    await billing.call("features.tenant.set", {"tenant_id": "t_over", "overrides": {}}, operator())

    await published_features(broker, "t_over", FREE)
    again = await billing.call("features.tenant.get", {"tenant_id": "t_over"}, operator())
    assert again.data["overrides"] == {}


async def test_an_override_is_in_the_bucket_when_the_operator_is_answered(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await new_tenant(billing, broker, "t_now")

    await billing.call(
        "features.tenant.set", {"tenant_id": "t_now", "overrides": {"tools": True}}, operator()
    )

    published = await kv_entitlements(broker, "t_now")
    assert published is not None
    assert published.features == ["chat", "tools", "service_accounts"]


async def test_an_override_waits_for_a_plan_change_of_the_tenant_in_progress(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    """Ordered with plan changes (and deprovisioning) by the subscription's lock, an override
    computes the entitlements it announces after the other change committed."""
    await new_tenant(billing, broker, "t_order")
    parts = billing.runtime.parts_as(BillingParts)

    async with parts.db.transaction() as session:
        await lock_for_transaction(session, "subscription:t_order")
        override = asyncio.create_task(
            billing.call(
                "features.tenant.set",
                {"tenant_id": "t_order", "overrides": {"research_agent": True}},
                operator(),
            )
        )

        async def waiting_for_the_lock() -> bool:
            return bool(
                await billing.sql(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
            )

        await eventually(waiting_for_the_lock, what="the override at the subscription's lock")
        assert not override.done()

    assert (await override).data["features"] == ["chat", "service_accounts", "research_agent"]


async def test_only_operators_read_or_override_a_tenants_features(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await new_tenant(billing, broker, "t_own")
    owner = principal("t_own")

    for operation, payload in (
        ("features.tenant.get", {"tenant_id": "t_own"}),
        ("features.tenant.set", {"tenant_id": "t_own", "overrides": {"research_agent": True}}),
    ):
        with pytest.raises(AgentbusError) as refused:
            await billing.call(operation, payload, owner)
        assert refused.value.status == 403, operation
    assert await billing.sql("SELECT * FROM billing.feature_overrides") == []


async def test_an_unknown_feature_is_refused_and_nothing_stored(
    billing: RunningBilling, broker: NatsBroker
) -> None:
    await new_tenant(billing, broker, "t_typo")

    with pytest.raises(AgentbusError) as refused:
        await billing.call(
            "features.tenant.set",
            {"tenant_id": "t_typo", "overrides": {"teleportation": True}},
            operator(),
        )

    assert refused.value.status == 422
    assert await billing.sql("SELECT * FROM billing.feature_overrides") == []


async def test_overriding_a_tenant_billing_does_not_know_is_not_found(
    billing: RunningBilling,
) -> None:
    with pytest.raises(AgentbusError) as missing:
        await billing.call(
            "features.tenant.set",
            {"tenant_id": "t_nobody", "overrides": {"research_agent": True}},
            operator(),
        )

    assert missing.value.status == 404
    assert missing.value.code == "tenant_not_found"


async def test_reading_the_tenants_features_needs_tenant_read(billing: RunningBilling) -> None:
    with pytest.raises(AgentbusError) as refused:
        await billing.call("features.get", {}, principal("t_feat", Scope.BILLING_READ))

    assert (refused.value.status, refused.value.code) == (403, "forbidden")


async def test_an_operator_reading_a_tenant_billing_does_not_know_is_not_found(
    billing: RunningBilling,
) -> None:
    with pytest.raises(AgentbusError) as missing:
        await billing.call("features.tenant.get", {"tenant_id": "t_nobody"}, operator())

    assert (missing.value.status, missing.value.code) == (404, "tenant_not_found")


def test_services_assume_the_shipped_free_plans_features_for_a_tenant_not_yet_published() -> None:
    catalog = load_catalog()

    assert catalog.default.code == FEATURES_WHEN_UNKNOWN.plan
    assert frozenset(catalog.default.features) == FEATURES_WHEN_UNKNOWN.features


def test_a_catalog_naming_a_feature_outside_the_registry_is_refused(tmp_path: Path) -> None:
    catalog = tmp_path / "plans.toml"
    catalog.write_text(
        'default_plan = "free"\n[[plans]]\ncode = "free"\nname = "Free"\nprice_cents = 0\n'
        'features = ["chat", "teleportation"]\n'
    )

    with pytest.raises(ValueError, match="teleportation"):
        load_catalog(catalog)
