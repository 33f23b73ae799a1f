"""A tenant's entitlements written to the ENTITLEMENTS bucket as billing writes them, for tests of
the services and the gateway that read a tenant's features there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError

from agentbus_shared.contracts.billing import Entitlements, PlanLimits
from agentbus_shared.contracts.streams import ENTITLEMENTS


async def publish_features(
    jetstream: JetStreamContext, tenant_id: str, *features: str, plan: str = "free"
) -> Entitlements:
    """Write ``tenant_id``'s entitlements with ``features`` of ``plan`` (creating the bucket when
    billing has not); answer what was written."""
    now = datetime.now(UTC)
    entitlements = Entitlements(
        tenant_id=tenant_id,
        plan=plan,
        status="active",
        limits=PlanLimits(),
        period_start=now,
        period_end=now + timedelta(days=30),
        features=list(features),
        updated_at=now,
    )
    try:
        bucket = await jetstream.key_value(ENTITLEMENTS.name)
    except BucketNotFoundError:
        bucket = await jetstream.create_key_value(ENTITLEMENTS.config())
    await bucket.put(tenant_id, entitlements.model_dump_json().encode())
    return entitlements
