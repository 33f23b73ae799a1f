"""The ``usage.recorded`` consumer and the usage RPC operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, DurableConsumer, RetryPolicy
from agentbus_shared.contracts.billing import Operation, UsageView
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.streams import CHAT_EVENTS
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts


def register(runtime: ServiceRuntime, parts: BillingParts) -> None:
    consumer = DurableConsumer(
        service="billing",
        name="usage-recorded",
        stream=CHAT_EVENTS,
        subject=UsageRecorded.filter_subject(),
        retry=RetryPolicy(max_deliver=8),
        max_workers=parts.settings.tuning.usage_workers,
    )

    @runtime.consumer(consumer)
    async def on_usage_recorded(event: CloudEvent[UsageRecorded]) -> None:
        await parts.usage.record(event)

    @runtime.rpc_router.operation(
        Operation.USAGE_GET,
        scopes={Scope.BILLING_READ},
        description="This period's usage per meter with the plan's limits.",
    )
    async def usage_get(principal: CallerPrincipal) -> UsageView:
        return await parts.usage.view(principal.tenant_id)
