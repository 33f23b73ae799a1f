"""RPC operation listing the tenant's invoices."""

from __future__ import annotations

from agentbus_billing.container import Billing
from agentbus_shared.bus import CallerPrincipal
from agentbus_shared.contracts.billing import InvoiceView, Operation
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, billing: Billing) -> None:
    @runtime.rpc_router.operation(Operation.INVOICES_LIST, description="The tenant's invoices.")
    async def invoices_list(query: PageQuery, principal: CallerPrincipal) -> Page[InvoiceView]:
        principal.require(Scope.BILLING_READ)
        items, cursor = await billing.invoices.page(
            principal.tenant_id, limit=query.limit, cursor=query.cursor
        )
        return Page[InvoiceView](items=items, next_cursor=cursor)
