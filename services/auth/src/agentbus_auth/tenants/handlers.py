"""RPC operations of tenants and members, and the consumer of billing's plan changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.auth import RegisterResult
from agentbus_shared.contracts.billing import SubscriptionChanged
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import BILLING_EVENTS
from agentbus_shared.contracts.tenants import (
    InviteAccept,
    InviteCreate,
    InviteCreated,
    MemberRef,
    MemberRemoved,
    MemberUpdate,
    MemberUpdated,
    MemberView,
    Operation,
    TenantView,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts

PLAN_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-tenant-plan",
    stream=BILLING_EVENTS,
    subject=SubscriptionChanged.filter_subject(),
    retry=RetryPolicy(max_deliver=6),
    max_workers=2,
)


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    tenants = parts.tenants

    @ops.operation(
        Operation.TENANT_CURRENT, scopes={Scope.TENANT_READ}, description="The caller's tenant."
    )
    async def current(principal: CallerPrincipal) -> TenantView:
        return await tenants.current(principal)

    @ops.operation(
        Operation.MEMBERS_LIST, scopes={Scope.MEMBERS_READ}, description="Members with their roles."
    )
    async def members(query: PageQuery, principal: CallerPrincipal) -> Page[MemberView]:
        return await tenants.members(principal, query)

    @ops.operation(
        Operation.MEMBERS_UPDATE,
        scopes={Scope.MEMBERS_MANAGE},
        user_only=True,
        description="Change a member's role.",
    )
    async def update(cmd: MemberUpdate, principal: CallerPrincipal, meta: Meta) -> MemberUpdated:
        return await tenants.change_role(principal, cmd, meta)

    @ops.operation(
        Operation.MEMBERS_REMOVE,
        scopes={Scope.MEMBERS_MANAGE},
        user_only=True,
        description="Remove a member.",
    )
    async def remove(ref: MemberRef, principal: CallerPrincipal, meta: Meta) -> MemberRemoved:
        return await tenants.remove(principal, ref.user_id, meta)

    @ops.operation(
        Operation.INVITES_CREATE,
        scopes={Scope.MEMBERS_MANAGE},
        user_only=True,
        description="Invite someone to the tenant.",
    )
    async def invite(
        cmd: InviteCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[InviteCreated]:
        return Reply(await tenants.invite(principal, cmd, meta), status=201)

    @ops.operation(Operation.INVITES_ACCEPT, description="Accept an invite.")
    async def accept(cmd: InviteAccept, meta: Meta) -> RegisterResult:
        return await tenants.accept_invite(cmd, meta)

    @runtime.consumer(PLAN_CONSUMER)
    async def on_subscription_changed(event: CloudEvent[SubscriptionChanged]) -> None:
        await tenants.apply_subscription(event, consumer=PLAN_CONSUMER.name)
