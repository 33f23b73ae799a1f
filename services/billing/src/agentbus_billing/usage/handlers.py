"""The ``usage.recorded`` consumer and the usage RPC operation."""

from __future__ import annotations

from agentbus_billing.container import Billing
from agentbus_shared.bus import CallerPrincipal, DurableConsumer, RetryPolicy
from agentbus_shared.contracts.billing import Operation, UsageView
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import CHAT_EVENTS
from agentbus_shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, billing: Billing) -> None:
    consumer = DurableConsumer(
        service="billing",
        name="usage-recorded",
        stream=CHAT_EVENTS,
        subject=UsageRecorded.filter_subject(),
        retry=RetryPolicy(max_deliver=8),
        max_workers=billing.settings.usage_workers,
    )

    @runtime.consumer(consumer)
    async def on_usage_recorded(event: CloudEvent[UsageRecorded]) -> None:
        async with billing.db.transaction() as session:
            await billing.usage.record(session, event)
        await billing.entitlements.publish_marked(session)

    @runtime.rpc_router.operation(
        Operation.USAGE_GET, description="This period's usage per meter with the plan's limits."
    )
    async def usage_get(principal: CallerPrincipal) -> UsageView:
        principal.require(Scope.BILLING_READ)
        return await billing.usage.view(principal.tenant_id)
