"""The operators' deprovisioning of a tenant, auth's own part of the deletion, and the consumers of
every service's ``tenant.data_deleted`` (one durable consumer per stream)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import (
    ActivityTenantDataDeleted,
    AuthTenantDataDeleted,
    BillingTenantDataDeleted,
    ChatTenantDataDeleted,
    Operation,
    TenantDeprovisionRequested,
    TenantDetail,
    TenantRef,
)
from agentbus_shared.contracts.streams import (
    ACTIVITY_EVENTS,
    AUTH_EVENTS,
    BILLING_EVENTS,
    CHAT_EVENTS,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts

DELETE_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-tenant-deprovision",
    stream=AUTH_EVENTS,
    subject=TenantDeprovisionRequested.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
    max_workers=1,
)
AUTH_PART_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-deprovision-auth-part",
    stream=AUTH_EVENTS,
    subject=AuthTenantDataDeleted.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
)
BILLING_PART_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-deprovision-billing-part",
    stream=BILLING_EVENTS,
    subject=BillingTenantDataDeleted.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
)
CHAT_PART_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-deprovision-chat-part",
    stream=CHAT_EVENTS,
    subject=ChatTenantDataDeleted.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
)
ACTIVITY_PART_CONSUMER = DurableConsumer(
    service="auth",
    name="auth-deprovision-activity-part",
    stream=ACTIVITY_EVENTS,
    subject=ActivityTenantDataDeleted.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
)


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    saga = parts.deprovisioning

    @runtime.rpc_router.operation(
        Operation.TENANTS_DELETE,
        scopes={Scope.PLATFORM_OPERATE},
        user_only=True,
        description="Deprovision a tenant: every service deletes its data (202, idempotent).",
    )
    async def delete(ref: TenantRef, principal: CallerPrincipal, meta: Meta) -> Reply[TenantDetail]:
        await saga.request(ref.tenant_id, operator_id=principal.user_id, meta=meta)
        return Reply(await parts.tenant_lifecycle.detail(ref.tenant_id), status=202)

    @runtime.consumer(DELETE_CONSUMER)
    async def on_deprovision_requested(event: CloudEvent[TenantDeprovisionRequested]) -> None:
        await saga.delete_data(event, consumer=DELETE_CONSUMER.name)

    @runtime.consumer(AUTH_PART_CONSUMER)
    async def on_auth_part(event: CloudEvent[AuthTenantDataDeleted]) -> None:
        await saga.record_part(event.id, event.data, consumer=AUTH_PART_CONSUMER.name)

    @runtime.consumer(BILLING_PART_CONSUMER)
    async def on_billing_part(event: CloudEvent[BillingTenantDataDeleted]) -> None:
        await saga.record_part(event.id, event.data, consumer=BILLING_PART_CONSUMER.name)

    @runtime.consumer(CHAT_PART_CONSUMER)
    async def on_chat_part(event: CloudEvent[ChatTenantDataDeleted]) -> None:
        await saga.record_part(event.id, event.data, consumer=CHAT_PART_CONSUMER.name)

    @runtime.consumer(ACTIVITY_PART_CONSUMER)
    async def on_activity_part(event: CloudEvent[ActivityTenantDataDeleted]) -> None:
        await saga.record_part(event.id, event.data, consumer=ACTIVITY_PART_CONSUMER.name)
