"""RPC operation answering a tenant's entitlements (the KV bucket holds the same document)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import OptionalPrincipal
from agentbus_shared.contracts.billing import Entitlements, EntitlementsQuery, Operation
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    @runtime.rpc_router.operation(
        Operation.ENTITLEMENTS_GET,
        description="What a tenant may use now (services and operators).",
    )
    async def entitlements_get(
        query: EntitlementsQuery, principal: OptionalPrincipal
    ) -> Entitlements:
        return await parts.entitlements.get_for(principal, query.tenant_id)
