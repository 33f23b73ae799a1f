"""RPC operation answering a tenant's entitlements (the KV bucket holds the same document)."""

from __future__ import annotations

from agentbus_billing.container import Billing
from agentbus_shared.bus import OptionalPrincipal
from agentbus_shared.contracts.billing import Entitlements, EntitlementsQuery, Operation
from agentbus_shared.contracts.common import Scope
from agentbus_shared.errors import Forbidden
from agentbus_shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, billing: Billing) -> None:
    @runtime.rpc_router.operation(
        Operation.ENTITLEMENTS_GET,
        description="What a tenant may use now (services and operators).",
    )
    async def entitlements_get(
        query: EntitlementsQuery, principal: OptionalPrincipal
    ) -> Entitlements:
        if (
            principal is not None
            and principal.tenant_id != query.tenant_id
            and not principal.has(Scope.PLATFORM_OPERATE)
        ):
            raise Forbidden("Entitlements of another tenant are not yours to read.")
        return await billing.entitlements.get(query.tenant_id)
