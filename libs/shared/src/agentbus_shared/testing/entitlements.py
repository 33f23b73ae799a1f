"""A tenant's entitlements written to the ENTITLEMENTS bucket as billing writes them, for tests of
the services and the gateway that read a tenant's features there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError

from agentbus_shared.contracts.billing import Entitlements, PlanLimits
from agentbus_shared.contracts.streams import ENTITLEMENTS


def entitlements_with(tenant_id: str, *features: str, plan: str = "free") -> Entitlements:
    """``tenant_id``'s entitlements with ``features`` of ``plan``, unlimited, in a period begun now."""
    now = datetime.now(UTC)
    return Entitlements(
        tenant_id=tenant_id,
        plan=plan,
        status="active",
        limits=PlanLimits(),
        period_start=now,
        period_end=now + timedelta(days=30),
        features=list(features),
        updated_at=now,
    )


async def publish_features(
    jetstream: JetStreamContext, tenant_id: str, *features: str, plan: str = "free"
) -> Entitlements:
    """Write ``tenant_id``'s entitlements with ``features`` of ``plan`` (creating the bucket when
    billing has not); answer what was written."""
    entitlements = entitlements_with(tenant_id, *features, plan=plan)
    try:
        bucket = await jetstream.key_value(ENTITLEMENTS.name)
    except BucketNotFoundError:
        bucket = await jetstream.create_key_value(ENTITLEMENTS.config())
    await bucket.put(tenant_id, entitlements.model_dump_json().encode())
    return entitlements
