"""RPC operation listing the tenant's invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal
from agentbus_shared.contracts.billing import InvoiceView, Operation
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    @runtime.rpc_router.operation(
        Operation.INVOICES_LIST, scopes={Scope.BILLING_READ}, description="The tenant's invoices."
    )
    async def invoices_list(query: PageQuery, principal: CallerPrincipal) -> Page[InvoiceView]:
        items, cursor = await parts.invoices.page(
            principal.tenant_id, limit=query.limit, cursor=query.cursor
        )
        return Page[InvoiceView](items=items, next_cursor=cursor)
