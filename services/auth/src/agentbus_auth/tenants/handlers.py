"""RPC operations of tenants and members, and the consumer of billing's plan changes."""

from __future__ import annotations

from agentbus_auth.models import processed_events
from agentbus_auth.tenants.service import TenantService
from agentbus_shared.bus import CallerPrincipal, Meta, Reply, RpcRouter
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.auth import (
    InviteAccept,
    InviteCreate,
    InviteCreated,
    MemberRef,
    MemberRemoved,
    MemberUpdate,
    MemberUpdated,
    MemberView,
    Operation,
    RegisterResult,
    TenantView,
)
from agentbus_shared.contracts.billing import SubscriptionChanged
from agentbus_shared.contracts.common import Page, PageQuery
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import BILLING_EVENTS
from agentbus_shared.db import Database, record_once
from agentbus_shared.runtime import ServiceRuntime

PLAN_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-tenant-plan",
    stream=BILLING_EVENTS,
    subject=SubscriptionChanged.filter_subject(),
    retry=RetryPolicy(max_deliver=6),
    max_workers=2,
)


def register_operations(ops: RpcRouter, tenants: TenantService) -> None:
    @ops.operation(Operation.TENANT_CURRENT, description="The caller's tenant.")
    async def current(principal: CallerPrincipal) -> TenantView:
        return await tenants.current(principal)

    @ops.operation(Operation.MEMBERS_LIST, description="Members with their roles.")
    async def members(query: PageQuery, principal: CallerPrincipal) -> Page[MemberView]:
        return await tenants.members(principal, query)

    @ops.operation(Operation.MEMBERS_UPDATE, description="Change a member's role.")
    async def update(cmd: MemberUpdate, principal: CallerPrincipal, meta: Meta) -> MemberUpdated:
        return await tenants.change_role(principal, cmd, meta)

    @ops.operation(Operation.MEMBERS_REMOVE, description="Remove a member.")
    async def remove(ref: MemberRef, principal: CallerPrincipal, meta: Meta) -> MemberRemoved:
        return await tenants.remove(principal, ref.user_id, meta)

    @ops.operation(Operation.INVITES_CREATE, description="Invite someone to the tenant.")
    async def invite(
        cmd: InviteCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[InviteCreated]:
        return Reply(await tenants.invite(principal, cmd, meta), status=201)

    @ops.operation(Operation.INVITES_ACCEPT, description="Accept an invite.")
    async def accept(cmd: InviteAccept, meta: Meta) -> RegisterResult:
        return await tenants.accept_invite(cmd, meta)


def register_consumers(runtime: ServiceRuntime, db: Database, tenants: TenantService) -> None:
    @runtime.consumer(PLAN_CONSUMER)
    async def on_subscription_changed(event: CloudEvent[SubscriptionChanged]) -> None:
        async with db.transaction() as session:
            if not await record_once(
                session, processed_events, consumer=PLAN_CONSUMER.name, event_id=event.id
            ):
                return
            await tenants.apply_subscription(session, event)
