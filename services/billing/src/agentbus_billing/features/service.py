"""Feature rules: a tenant's features are its plan's with the operators' overrides applied; a
change of the overrides is published like any change of the tenant's entitlements."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.features import repository as overrides
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.plans.catalog import Catalog
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.features import Feature, TenantFeatures
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class FeatureService:
    def __init__(self, db: Database, catalog: Catalog, entitlements: EntitlementsService) -> None:
        self._db = db
        self._catalog = catalog
        self._entitlements = entitlements

    async def of_tenant(self, tenant_id: str) -> TenantFeatures:
        """The tenant's plan features, overrides and effective features."""
        async with self._db.session() as session:
            return await self._features_of(session, tenant_id)

    async def of_known_tenant(self, tenant_id: str) -> TenantFeatures:
        """As :meth:`of_tenant`, for a tenant billing knows (operators); ``NotFound`` otherwise."""
        async with self._db.session() as session:
            await self._require_known(session, tenant_id)
            return await self._features_of(session, tenant_id)

    async def override(
        self, tenant_id: str, chosen: dict[Feature, bool], *, by: str
    ) -> TenantFeatures:
        """Make ``chosen`` the tenant's overrides and publish its new entitlements, in the
        bucket before this answers. ``NotFound`` when billing does not know the tenant.

        The subscription's lock orders the change with plan changes and the tenant's
        deprovisioning: each computes the entitlements it announces after the other committed,
        so the last ``entitlements.updated`` is the newest, and no override outlives the tenant.
        """
        async with self._db.transaction() as session:
            await lock_for_transaction(session, f"subscription:{tenant_id}")
            await self._require_known(session, tenant_id)
            await overrides.replace(session, tenant_id, chosen, by=by)
            entitlements = await self._entitlements.changed(session, tenant_id)
        await self._entitlements.publish([tenant_id], only_marked=True)
        log.info(
            "billing.features_overridden",
            tenant_id=tenant_id,
            overrides={f.value: on for f, on in chosen.items()},
            by=by,
        )
        return self._view(entitlements, chosen)

    async def _features_of(self, session: AsyncSession, tenant_id: str) -> TenantFeatures:
        entitlements = await self._entitlements.compute(session, tenant_id)
        return self._view(entitlements, await overrides.of_tenant(session, tenant_id))

    def _view(self, entitlements: Entitlements, chosen: dict[Feature, bool]) -> TenantFeatures:
        """The tenant's plan features, overrides and the effective features ``entitlements``
        carry (computed once, as published)."""
        plan = self._catalog.get(entitlements.plan)
        return TenantFeatures(
            tenant_id=entitlements.tenant_id,
            plan=plan.code,
            plan_features=[Feature(f) for f in plan.features],
            overrides=chosen,
            features=[Feature(f) for f in entitlements.features],
        )

    async def _require_known(self, session: AsyncSession, tenant_id: str) -> None:
        if await subscriptions.of_tenant(session, tenant_id) is None:
            raise NotFound("There is no tenant with this id.", code="tenant_not_found")
