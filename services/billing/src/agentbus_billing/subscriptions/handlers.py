"""RPC operations on plans and subscriptions, and the ``tenant.created`` consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, DurableConsumer, Meta, Reply, RetryPolicy
from agentbus_shared.contracts.billing import (
    BillingSummary,
    CancelCommand,
    Operation,
    PlanChoice,
    PlanRef,
    PlanView,
    PortalSession,
    SubscribeResult,
    SubscriptionView,
)
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts

TENANT_CREATED = DurableConsumer(
    service="billing",
    name="tenant-created",
    stream=AUTH_EVENTS,
    subject=TenantCreated.filter_subject(),
    retry=RetryPolicy(max_deliver=8),
    max_workers=4,
)
READ = {Scope.BILLING_READ}
MANAGE = {Scope.BILLING_MANAGE}


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    ops = runtime.rpc_router
    subscriptions = parts.subscriptions

    @ops.operation(Operation.PLANS_LIST, description="The plan catalog (public).")
    async def plans_list() -> Page[PlanView]:
        return Page[PlanView](items=[plan.view() for plan in parts.catalog.plans])

    @ops.operation(
        Operation.PLAN_GET, description="One plan of the catalog, for services (404 unknown)."
    )
    async def plan_get(ref: PlanRef) -> PlanView:
        return parts.catalog.get(ref.code).view()

    @ops.operation(
        Operation.SUBSCRIPTION_GET, scopes=READ, description="The tenant's subscription."
    )
    async def subscription_get(principal: CallerPrincipal) -> SubscriptionView:
        return await subscriptions.view(principal.tenant_id)

    @ops.operation(
        Operation.SUBSCRIPTION_CREATE,
        scopes=MANAGE,
        user_only=True,
        description="Subscribe: a free plan applies at once (200), a paid one answers a Checkout URL (201).",
    )
    async def subscription_create(
        cmd: PlanChoice, principal: CallerPrincipal, meta: Meta
    ) -> Reply[SubscribeResult]:
        result, checkout = await subscriptions.subscribe(principal, cmd.plan, meta)
        return Reply(result, status=201 if checkout else 200)

    @ops.operation(
        Operation.SUBSCRIPTION_CHANGE,
        scopes=MANAGE,
        user_only=True,
        description="Change plan (prorated).",
    )
    async def subscription_change(
        cmd: PlanChoice, principal: CallerPrincipal, meta: Meta
    ) -> SubscriptionView:
        return await subscriptions.change(principal, cmd.plan, meta)

    @ops.operation(
        Operation.SUBSCRIPTION_CANCEL,
        scopes=MANAGE,
        user_only=True,
        description="Cancel now or at period end.",
    )
    async def subscription_cancel(
        cmd: CancelCommand, principal: CallerPrincipal, meta: Meta
    ) -> SubscriptionView:
        return await subscriptions.cancel(principal, at_period_end=cmd.at_period_end, meta=meta)

    @ops.operation(
        Operation.PORTAL,
        scopes=MANAGE,
        user_only=True,
        description="A Stripe billing portal session.",
    )
    async def portal_create(principal: CallerPrincipal, meta: Meta) -> PortalSession:
        return await subscriptions.portal(principal, meta)

    @ops.operation(
        Operation.SUMMARY_GET,
        scopes=READ,
        description="Plan, subscription and usage in one answer (the chat billing tool).",
    )
    async def summary_get(principal: CallerPrincipal) -> BillingSummary:
        return BillingSummary(
            subscription=await subscriptions.view(principal.tenant_id),
            usage=await parts.usage.view(principal.tenant_id),
        )

    @runtime.consumer(TENANT_CREATED)
    async def on_tenant_created(event: CloudEvent[TenantCreated]) -> None:
        await subscriptions.start_free(event.data.tenant_id)
