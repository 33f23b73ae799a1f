"""RPC operations of the operators' tenant lifecycle (``platform:operate``, people only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.contracts.platform import (
    Operation,
    TenantCreate,
    TenantDetail,
    TenantRef,
    TenantSearch,
    TenantSummary,
    TenantSuspend,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    lifecycle = parts.tenant_lifecycle
    operators = {Scope.PLATFORM_OPERATE}

    @ops.operation(
        Operation.TENANTS_LIST,
        scopes=operators,
        user_only=True,
        description="Tenants newest first, by name, slug or owner email and by status.",
    )
    async def tenants_list(query: TenantSearch) -> Page[TenantSummary]:
        return await lifecycle.search(query)

    @ops.operation(
        Operation.TENANTS_GET,
        scopes=operators,
        user_only=True,
        description="A tenant's status, plan, members, usage and deprovisioning progress.",
    )
    async def tenants_get(ref: TenantRef) -> TenantDetail:
        return await lifecycle.detail(ref.tenant_id)

    @ops.operation(
        Operation.TENANTS_CREATE,
        scopes=operators,
        user_only=True,
        description="Create a tenant; its owner gets an invite.",
    )
    async def tenants_create(
        cmd: TenantCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[TenantDetail]:
        return Reply(await lifecycle.create(principal.user_id, cmd, meta), status=201)

    @ops.operation(
        Operation.TENANTS_SUSPEND,
        scopes=operators,
        user_only=True,
        description="Suspend a tenant: no token of it is issued or accepted until reactivated.",
    )
    async def tenants_suspend(
        cmd: TenantSuspend, principal: CallerPrincipal, meta: Meta
    ) -> TenantDetail:
        return await lifecycle.suspend(principal.user_id, cmd, meta)

    @ops.operation(
        Operation.TENANTS_REACTIVATE,
        scopes=operators,
        user_only=True,
        description="Reactivate a suspended tenant.",
    )
    async def tenants_reactivate(
        ref: TenantRef, principal: CallerPrincipal, meta: Meta
    ) -> TenantDetail:
        return await lifecycle.reactivate(principal.user_id, ref.tenant_id, meta)
