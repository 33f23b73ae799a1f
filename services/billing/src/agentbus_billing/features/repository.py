"""All SQL about operators' feature overrides of a tenant."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import feature_overrides
from agentbus_shared.contracts.features import Feature


async def of_tenant(session: AsyncSession, tenant_id: str) -> dict[Feature, bool]:
    """The tenant's overrides: feature -> on (True) or off (False); features absent follow the plan.

    A feature no longer in the registry is left out (it can no longer be asked for)."""
    rows = await session.execute(
        select(feature_overrides.c.feature, feature_overrides.c.enabled).where(
            feature_overrides.c.tenant_id == tenant_id
        )
    )
    known = {feature.value for feature in Feature}
    return {Feature(row.feature): row.enabled for row in rows if row.feature in known}


async def replace(
    session: AsyncSession, tenant_id: str, overrides: dict[Feature, bool], *, by: str
) -> None:
    """Make ``overrides`` the tenant's whole set of overrides."""
    await session.execute(
        delete(feature_overrides).where(feature_overrides.c.tenant_id == tenant_id)
    )
    if overrides:
        await session.execute(
            feature_overrides.insert(),
            [
                {"tenant_id": tenant_id, "feature": feature.value, "enabled": on, "updated_by": by}
                for feature, on in overrides.items()
            ],
        )
