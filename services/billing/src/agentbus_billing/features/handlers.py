"""RPC operations on feature flags: the caller's tenant's features, operators' overrides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.features import (
    FeatureOverridesUpdate,
    Operation,
    TenantFeatures,
)
from agentbus_shared.contracts.platform import TenantRef
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts

OPERATE = {Scope.PLATFORM_OPERATE}


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    ops = runtime.rpc_router

    @ops.operation(
        Operation.FEATURES_GET,
        scopes={Scope.TENANT_READ},
        description="The caller's tenant's features.",
    )
    async def features_get(principal: CallerPrincipal) -> TenantFeatures:
        return await parts.features.of_tenant(principal.tenant_id)

    @ops.operation(
        Operation.TENANT_FEATURES_GET,
        scopes=OPERATE,
        user_only=True,
        description="A tenant's plan features and overrides (operators).",
    )
    async def tenant_features_get(query: TenantRef) -> TenantFeatures:
        return await parts.features.of_known_tenant(query.tenant_id)

    @ops.operation(
        Operation.TENANT_FEATURES_SET,
        scopes=OPERATE,
        user_only=True,
        description="Replace a tenant's feature overrides (operators).",
    )
    async def tenant_features_set(
        cmd: FeatureOverridesUpdate, principal: CallerPrincipal
    ) -> TenantFeatures:
        return await parts.features.override(cmd.tenant_id, cmd.overrides, by=principal.subject)
