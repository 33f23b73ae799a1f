"""RPC operation answering a tenant's entitlements (the KV bucket holds the same document)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import OptionalPrincipal
from agentbus_shared.contracts.billing import Entitlements, EntitlementsQuery, Operation
from agentbus_shared.contracts.common import Scope
from agentbus_shared.errors import Forbidden
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
        # Which tenant is asked about is in the data: a caller reads its own, an operator any.
        if (
            principal is not None
            and principal.tenant_id != query.tenant_id
            and not principal.has(Scope.PLATFORM_OPERATE)
        ):
            raise Forbidden("Entitlements of another tenant are not yours to read.")
        return await parts.entitlements.get(query.tenant_id)
